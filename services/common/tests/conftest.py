import sys
from pathlib import Path

# The shared kit, importable as in the images (which copy it to /app/servicekit).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
