from services.notifier.wiring import main

main()
