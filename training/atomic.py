"""Atomic file and checkpoint writes: a crash mid-write never corrupts the last good copy.

Write to a temporary name in the same folder, fsync, then `os.replace` (atomic on POSIX).
"""
import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """Yields a file object; on success it replaces `path` atomically, on error `path` is kept."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-" + os.path.basename(path))
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_checkpoint_save(checkpoint, directory, name="ckpt"):
    """Save a tf.train.Checkpoint into `directory/name/` via a temp dir swapped in by rename.

    Returns the checkpoint prefix `directory/name/ckpt`. If saving fails, the previous
    `directory/name/` is left as it was.
    """
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, name)
    tmp = tempfile.mkdtemp(dir=directory, prefix=".tmp-" + name)
    try:
        checkpoint.write(os.path.join(tmp, "ckpt"))
        old = final + ".old"
        if os.path.exists(final):
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)  # keep the good copy until the new one is in place
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return os.path.join(final, "ckpt")
