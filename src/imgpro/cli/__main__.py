from imgpro.cli.main import main

main()
