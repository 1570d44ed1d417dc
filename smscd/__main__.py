"""`python3 -m smscd`: the same command as the `smscd` console script."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="smscd")
