from services.handover.wiring import main

main()
