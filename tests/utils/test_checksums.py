import hashlib

from vidattn.utils import sha256_file


def test_sha256_file_matches_hashlib_across_blocks(tmp_path):
    content = bytes(range(256)) * (1 << 15)  # 8 MiB: several 4 MiB blocks.
    path = tmp_path / "shard"
    path.write_bytes(content)
    assert sha256_file(path) == hashlib.sha256(content).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256().hexdigest()
