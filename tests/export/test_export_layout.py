import pytest

import vidattn


def test_versions_are_the_next_integer_and_an_existing_one_is_refused(
    tmp_path,
):
    base = tmp_path / "ucf11"
    assert vidattn.export.version_directory(base) == str(base / "1")
    for name in ("1", "3", ".3.tmp", "notes"):
        (base / name).mkdir(parents=True)
    assert vidattn.export.existing_versions(base) == [1, 3]
    assert vidattn.export.version_directory(base) == str(base / "4")
    assert vidattn.export.version_directory(base, 2) == str(base / "2")
    with pytest.raises(ValueError, match="Received version 3, which exists"):
        vidattn.export.version_directory(base, 3)
    assert vidattn.export.version_directory(base, 3, overwrite=True) == str(
        base / "3"
    )
    with pytest.raises(ValueError, match="Received: version=0"):
        vidattn.export.version_directory(base, 0)
