"""Build the Cython thresholding kernels in csrc/ into fastdgm.kernels._threshold.

OpenMP is used when the compiler accepts ``-fopenmp``; otherwise the kernels build serial.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def _openmp_flags():
    if os.environ.get("FASTDGM_NO_OPENMP"):
        return []
    cc = os.environ.get("CC", "cc")
    if sys.platform == "win32":
        return ["/openmp"]
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n")
        r = subprocess.run([cc, "-fopenmp", src, "-o", os.path.join(tmp, "t")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return ["-fopenmp"] if r.returncode == 0 else []
    except OSError:
        return []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


omp = _openmp_flags()
# no FMA contraction: the AVX-512 kernels must round exactly as their portable twins (csrc/simd.h);
# no trapping math: floating-point selects may be vectorised (exception flags only, same values)
compile_args = ["-O3", "-ffp-contract=off", "-fno-trapping-math"] + omp if sys.platform != "win32" else ["/O2"] + omp
ext = Extension(
    "fastdgm.kernels._threshold",
    sources=["csrc/_threshold.pyx"],
    depends=[os.path.join("csrc", f) for f in ("counter_rng.h", "logit_weights.h", "row_draw.h", "simd.h")],
    include_dirs=[np.get_include(), "csrc"],
    extra_compile_args=compile_args,
    extra_link_args=omp if sys.platform != "win32" else [],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                   ("FASTDGM_OPENMP", "1" if omp else "0")],
)

setup(
    ext_modules=cythonize([ext], compiler_directives={"language_level": "3"}),
)
