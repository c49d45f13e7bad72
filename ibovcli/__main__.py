from ibovcli.cli import main

main()
