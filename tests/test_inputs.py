"""One set of rules for reading customer ids and identifiers from iterables, Series, frames and
files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capnb.errors import ValidationError
from capnb.fetch.inputs import read_customer_ids, read_identifiers, read_values


def test_ids_and_identifiers_share_the_file_rules(tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("customer_id,mobile\n007,+91 0012\n8,\n")
    assert read_values(csv, ("customer_id",)) == ["007", "8"]  # CSV cells stay text
    assert read_identifiers(csv, "mobile") == ["+91 0012", ""]
    parquet = tmp_path / "people.parquet"
    pd.DataFrame({"customer_id": [7, 8], "identifier": ["a", None]}).to_parquet(parquet)
    assert read_customer_ids(parquet)[0] == [7, 8]
    assert read_identifiers(parquet, "email") == ["a", None]  # 'identifier' before 'customer_id'
    sheet = tmp_path / "people.xlsx"
    sheet.write_bytes(b"PK")
    for read in (read_customer_ids, lambda path: read_identifiers(path, "mobile")):
        with pytest.raises(ValidationError, match="expected a .csv or .parquet file"):
            read(sheet)
        with pytest.raises(ValidationError, match="no file at"):
            read(tmp_path / "missing.csv")


def test_missing_columns_name_what_is_accepted(tmp_path):
    frame = pd.DataFrame({"phone": ["1"]})
    with pytest.raises(ValidationError, match=r"the DataFrame has no 'customer_id' column "
                                              r"\(columns: phone\)"):
        read_customer_ids(frame)
    with pytest.raises(ValidationError, match="no 'mobile' or 'identifier' or 'customer_id'"):
        read_identifiers(frame, "mobile")
    path = tmp_path / "ids.csv"
    path.write_text("id\n1\n")
    with pytest.raises(ValidationError, match="ids.csv has no 'customer_id' column"):
        read_customer_ids(path)


def test_values_of_iterables_and_series():
    assert read_values([np.int64(5), "6", None], ("customer_id",)) == [5, "6", None]
    assert read_identifiers([np.int64(911234567890)], "mobile") == [911234567890]
    assert read_values(pd.Series([1, None], dtype="Int64"), ("x",)) == [1, None]
    assert read_values(pd.Series([3, 4]), ("x",)) == [3, 4]
    for bad in (5, b"12", {"customer_id": 1}):
        with pytest.raises(ValidationError, match="must be an iterable of ids"):
            read_customer_ids(bad)
    with pytest.raises(ValidationError, match="must be an iterable of identifiers"):
        read_identifiers(5, "mobile")


def test_customer_ids_are_validated_and_deduplicated():
    ids, invalid = read_customer_ids([3, "4", 3, "x", -1, 2**63])
    assert ids == [3, 4]
    assert invalid["status"].eq("invalid").all()
    assert [m.split(":")[0] for m in invalid["error_message"]] == ["row 3", "row 4", "row 5"]
