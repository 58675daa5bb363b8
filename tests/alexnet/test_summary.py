"""The layer table is computed from the model: check it against hand arithmetic."""

from alexnet import AlexNet, format_summary, layer_summary


def test_rows_follow_execution_order_and_shapes():
    rows = {r.name: r for r in layer_summary(AlexNet(towers=1))}
    assert rows["features.conv1"].output_shape == (96, 55, 55)
    assert rows["features.pool5"].output_shape == (256, 6, 6)
    assert rows["classifier.fc8"].output_shape == (1000,)


def test_params_and_mult_adds_by_hand():
    rows = {r.name: r for r in layer_summary(AlexNet(towers=2))}
    # conv1: 96 kernels of 3x11x11 plus biases; each of 96*55*55 outputs costs 3*11*11 mult-adds.
    assert rows["features.conv1"].params == 96 * 3 * 11 * 11 + 96
    assert rows["features.conv1"].mult_adds == 96 * 55 * 55 * 3 * 11 * 11
    # conv2 in two towers: each kernel sees 48 of the 96 maps.
    assert rows["features.conv2"].params == 256 * 48 * 5 * 5 + 256
    assert rows["features.conv2"].mult_adds == 256 * 27 * 27 * 48 * 5 * 5
    assert rows["classifier.fc6"].mult_adds == 9216 * 4096
    assert sum(r.params for r in rows.values()) == 60_965_224


def test_summary_leaves_model_untouched():
    model = AlexNet()
    model.train()
    layer_summary(model)
    assert model.training
    assert not any(m._forward_hooks for m in model.modules())


def test_format_summary_has_totals():
    text = format_summary(layer_summary(AlexNet()))
    assert "features.conv1" in text and "62,378,344" in text
