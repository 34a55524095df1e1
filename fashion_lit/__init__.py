"""fashion_lit: the PyTorch Quickstart's FashionMNIST classifier as a Lightning project."""

from fashion_lit.data import CLASSES, FashionMNISTDataModule
from fashion_lit.module import ImageClassifier
from fashion_lit.network import NeuralNetwork

__all__ = ["CLASSES", "FashionMNISTDataModule", "ImageClassifier", "NeuralNetwork"]
