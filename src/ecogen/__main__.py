from ecogen.cli import main

main()
