from matome.cli import main

main()
