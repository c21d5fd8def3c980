"""Reading contract files (CSV, XLSX) into text batches, one table per kind, within named
limits; a file that cannot be read safely is refused with a French reason (`FileRefused`).

Arrow allocates from jemalloc in every process that reads: the wheel's default (mimalloc)
keeps the memory of freed batches, about 170 MB more at the peak of a national DECP snapshot
of a million rows (RSS 837 MB against 667 MB, the same snapshot examined)."""

import pyarrow as pa

try:
    pa.set_memory_pool(pa.jemalloc_memory_pool())
except NotImplementedError:  # a pyarrow built without jemalloc: its default pool
    pass
