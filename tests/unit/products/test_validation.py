"""Bad products are refused with one violation per problem; odd barcodes warn."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.domain.products import (
    barcode_notices,
    choose_external_no,
    gtin_check_digit_ok,
    validate_product,
)
from service.errors import FieldViolation
from tests.unit.products.builders import EAN_A, product


def fields(problems: list[FieldViolation]) -> list[str]:
    """The field paths of violations."""
    return [problem.field for problem in problems]


class TestValidateProduct:
    """validate_product names each problem under the path it is given."""

    def test_a_good_product_has_no_problems(self) -> None:
        """A product with id, SKU, a GTIN and a weight passes."""
        assert validate_product(product(), "product") == []

    def test_no_product_id_is_refused(self) -> None:
        """A blank product id is a violation of product.product_id."""
        assert fields(validate_product(product(product_id="  "), "product")) == [
            "product.product_id"
        ]

    def test_a_sku_of_only_white_space_is_refused(self) -> None:
        """A SKU of spaces is a violation of its own, even with a barcode."""
        assert fields(validate_product(product(sku="   "), "product")) == [
            "product.sku"
        ]

    def test_a_barcode_that_is_not_digits_is_refused(self) -> None:
        """Each barcode that is not digits is named by its index."""
        problems = validate_product(product(barcodes=(EAN_A, "12AB")), "products[3]")
        assert fields(problems) == ["products[3].barcodes[1]"]

    def test_a_negative_weight_is_refused(self) -> None:
        """A weight below zero is a violation of weight_kg."""
        problems = validate_product(product(weight_kg=-0.1), "product")
        assert fields(problems) == ["product.weight_kg"]

    def test_a_control_character_xml_cannot_carry_is_refused(self) -> None:
        """A control character in the name is refused by itself, rather than
        failing the message of 500 products it would go out in."""
        problems = validate_product(product(name="Mug\x0c"), "products[2]")
        assert fields(problems) == ["products[2].name"]

    def test_neither_sku_nor_barcode_is_refused(self) -> None:
        """Without SKU and barcode there is no ExternalNo: refused with a reason."""
        problems = validate_product(product(sku="", barcodes=()), "product")
        assert fields(problems) == ["product.sku"]
        assert "no SKU and no barcode" in problems[0].description

    def test_a_blank_sku_without_barcode_is_one_violation(self) -> None:
        """White space as SKU and no barcode is reported once, as the SKU."""
        problems = validate_product(product(sku=" ", barcodes=()), "product")
        assert fields(problems) == ["product.sku"]

    def test_every_problem_is_reported_at_once(self) -> None:
        """Several problems give several violations, in field order."""
        bad = product(product_id="", sku=" ", barcodes=("x",), weight_kg=-1)
        assert fields(validate_product(bad, "product")) == [
            "product.product_id",
            "product.sku",
            "product.barcodes[0]",
            "product.weight_kg",
        ]


class TestExternalNo:
    """The ExternalNo is the SKU, else the first barcode, else none."""

    def test_the_sku_is_the_external_no(self) -> None:
        """A product with a SKU is known to Boltrics by its SKU."""
        assert choose_external_no(product(sku=" SKU-9 ")) == "SKU-9"

    def test_without_sku_the_first_barcode_is_the_external_no(self) -> None:
        """Without a SKU the first barcode is used."""
        assert choose_external_no(product(sku="", barcodes=(EAN_A, "1"))) == EAN_A

    def test_without_either_there_is_none(self) -> None:
        """Without SKU or barcode there is no ExternalNo."""
        assert choose_external_no(product(sku="", barcodes=())) is None


class TestGtinCheckDigit:
    """A wrong GTIN check digit warns; it never refuses."""

    def test_a_wrong_check_digit_is_a_warning_not_a_violation(self) -> None:
        """4006381333932 passes validation but carries a warning."""
        odd = product(barcodes=("4006381333932",))
        assert validate_product(odd, "product") == []
        [notice] = barcode_notices(odd)
        assert notice.event == "product.barcode_suspect"
        assert "check digit" in notice.message

    def test_a_code_of_no_gtin_length_is_a_warning(self) -> None:
        """A shop-internal code of 5 digits passes with a warning."""
        [notice] = barcode_notices(product(barcodes=("12345",)))
        assert "not a GTIN" in notice.message

    def test_valid_gtins_carry_no_warning(self) -> None:
        """GTIN-8, -12, -13 and -14 with right check digits pass silently."""
        codes = ("96385074", "036000291452", EAN_A, "10012345678902")
        assert barcode_notices(product(barcodes=codes)) == []

    @given(st.text(alphabet="0123456789", min_size=7, max_size=13))
    def test_appending_the_computed_check_digit_always_validates(
        self, body: str
    ) -> None:
        """For any body, exactly one final digit makes a valid GTIN."""
        valid = [d for d in "0123456789" if gtin_check_digit_ok(body + d)]
        assert len(valid) == 1
