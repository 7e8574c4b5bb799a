"""materials: a task's content on IPFS (spec, teacher, dataset, checkpoints, leaves) as verified
local directories, checked against the spec; the requester's ``publish``.

It sits over two layers, ``store`` (verified fetch by CID) and ``prover`` (the spec and its
hash), and under the roles that use it (node, challenger, consumer, deploy).
"""

from materials.task import Materials, Published, SpecHashMismatchError, publish

__all__ = ["Materials", "Published", "SpecHashMismatchError", "publish"]
