"""Release v1 of own-service: the code of this version (here, the shared server with its settings)."""
import os
import runpy

os.environ["RELEASE"] = "v1"
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "server.py"), run_name="__main__")
