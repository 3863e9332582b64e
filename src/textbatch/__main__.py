from textbatch.cli.main import main

main()
