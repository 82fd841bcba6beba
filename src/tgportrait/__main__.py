from tgportrait.cli import main

main()
