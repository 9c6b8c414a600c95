import Chunks
