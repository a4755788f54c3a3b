import CaravanCommands

CaravanCommand.main()
