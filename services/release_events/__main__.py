from services.release_events.wiring import main

main()
