"""A TFDS set on disk before it is read: prepared already, or downloaded when the network is there.

Otherwise a one-line `ValueError` says how to provide it. Offline, no download is tried (TFDS
would retry for minutes); a download that fails removes the folders it created.
"""
import contextlib
import os
import shutil

from tfnvp.data import network

__all__ = ["ensure_prepared"]


def ensure_prepared(builder, name):
    """Make the TFDS `builder` (opened by `name`) readable from its data dir, or raise."""
    if builder.is_prepared():
        return
    root = os.fspath(builder.data_dir_root)
    how = (f"prepare it on a connected machine with `tfds build {name} --data_dir DIR` (or "
           f"python -c \"import tensorflow_datasets as tfds; tfds.load('{name}', "
           f"data_dir='DIR')\"), copy DIR here, then pass `data_dir` DIR or set TFDS_DATA_DIR=DIR")
    if not network.is_online():
        raise ValueError(f"TFDS data set {name!r} is not prepared in {root} and this machine is "
                         f"offline (nothing was downloaded): {how}")
    with _undone_on_failure(root):
        try:
            builder.download_and_prepare()
        except Exception as error:  # whatever the download met (HTTP, checksum, manual data)
            first_line = (str(error).strip().splitlines() or [""])[0]
            raise ValueError(f"TFDS could not download and prepare {name!r} into {root} "
                             f"({type(error).__name__}: {first_line}): {how}") from error


@contextlib.contextmanager
def _undone_on_failure(root):
    """Removes what the body added to `root` (two levels deep) if it raises: `root` itself and
    its missing parents when it did not exist."""
    if "://" in root:  # a remote data dir (gs://...): not ours to clean
        yield
        return
    root = missing = os.path.abspath(root)
    while not os.path.exists(os.path.dirname(missing)):
        missing = os.path.dirname(missing)
    before = _entries(root) if os.path.exists(root) else None
    done = False
    try:
        yield
        done = True
    finally:
        if not done and before is None:
            shutil.rmtree(missing, ignore_errors=True)
        elif not done:
            for path in sorted(_entries(root) - before):  # a parent before its children
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                elif os.path.lexists(path):
                    os.remove(path)


def _entries(root):
    """Paths of `root`'s entries and of its folders' entries."""
    found = set()
    for entry in os.scandir(root):
        found.add(entry.path)
        if entry.is_dir(follow_symlinks=False):
            found.update(child.path for child in os.scandir(entry.path))
    return found
