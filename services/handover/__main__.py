from services.handover.app import main

main()
