"""Release v3 of own-service: a bad one, half of its answers are 500s (the analysis aborts it)."""
import os
import runpy

os.environ["RELEASE"] = "v3"
os.environ["FAILURE_RATE"] = "0.5"
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "server.py"), run_name="__main__")
