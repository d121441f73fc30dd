from services.release_events.app import main

main()
