"""The network is the tutorial's, layer for layer and key for key."""

import torch
from torch import nn

from fashion_lit.network import NeuralNetwork
from tests.helpers.tutorial import TutorialNeuralNetwork


def test_layers_are_the_tutorials():
    stack = NeuralNetwork().linear_relu_stack
    kinds = [type(layer) for layer in stack]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    shapes = [
        (layer.in_features, layer.out_features) for layer in stack if isinstance(layer, nn.Linear)
    ]
    assert shapes == [(784, 512), (512, 512), (512, 10)]


def test_has_669706_parameters():
    assert sum(p.numel() for p in NeuralNetwork().parameters()) == 669_706


def test_state_dict_keys_are_the_tutorials():
    assert list(NeuralNetwork().state_dict()) == [
        "linear_relu_stack.0.weight",
        "linear_relu_stack.0.bias",
        "linear_relu_stack.2.weight",
        "linear_relu_stack.2.bias",
        "linear_relu_stack.4.weight",
        "linear_relu_stack.4.bias",
    ]


def test_tutorial_state_dict_loads_and_gives_the_same_logits():
    tutorial = TutorialNeuralNetwork()
    ours = NeuralNetwork()
    ours.load_state_dict(tutorial.state_dict())
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(ours(x), tutorial(x))


def test_maps_images_to_ten_scores():
    assert NeuralNetwork()(torch.rand(3, 1, 28, 28)).shape == (3, 10)
