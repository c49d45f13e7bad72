from ibovcli.cli import main

if __name__ == "__main__":  # not when a worker process (ibovcli.partfiles) imports the main module
    main()
