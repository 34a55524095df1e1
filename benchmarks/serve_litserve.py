"""fashion_lit's service built on LitServe 0.2.19, for ``benchmarks/serve.py`` to measure.

The same requests, decoding and answers as ``python -m fashion_lit serve``, the LitServe
way: a ``LitAPI`` whose network runs in an inference worker process, fed by LitServe's
HTTP server processes through its queues, with LitServe's dynamic batching. Decoding
stays in the HTTP server processes (``ImageReader``, named in ``decode_request``'s type
hint, which LitServe hands to FastAPI as the route's request type): LitServe decodes a
whole batch inside one ``try``, so one bad request decoded in the worker would fail
every request batched with it. The defaults are the best settings measured on a 2-core
machine. Run it from the repository root::

    python benchmarks/serve_litserve.py --ckpt_path model.pth --port 8002
"""

import argparse
from typing import Annotated, Any

import litserve as ls
import numpy as np
import torch
from fastapi import Depends
from torch import Tensor

from fashion_lit.checkpoints import load_network
from fashion_lit.serve.inputs import ImageReader, Images
from fashion_lit.serve.predictions import answer

REQUEST = "images"  # where a request's decoded images wait in its LitServe context
read_images = ImageReader()  # serve's limits by default


class ClassifierAPI(ls.LitAPI):
    """The network of ``ckpt_path`` behind LitServe's ``POST /predict``."""

    def __init__(self, ckpt_path: str, max_batch_size: int, batch_timeout: float) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.ckpt_path = ckpt_path

    def setup(self, device: str) -> None:
        torch.set_num_threads(1)
        self.net = load_network(self.ckpt_path).net

    def decode_request(
        self, request: Annotated[Images, Depends(read_images)], context: dict[str, Any]
    ) -> np.ndarray:
        context[REQUEST] = request
        return request.pixels

    def batch(self, inputs: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(inputs)

    @torch.inference_mode()
    def predict(self, pixels: np.ndarray) -> Tensor:
        return self.net(torch.from_numpy(pixels)).softmax(dim=1)

    def unbatch(self, output: Tensor, context: list[dict[str, Any]]) -> list[Tensor]:
        return list(output.split([len(c[REQUEST].pixels) for c in context]))

    def encode_response(self, probabilities: Tensor, context: dict[str, Any]) -> dict[str, Any]:
        return answer(context[REQUEST], probabilities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt_path", required=True)
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--api_servers", type=int, default=2)
    parser.add_argument("--max_batch_size", type=int, default=32)
    parser.add_argument("--batch_timeout", type=float, default=0.001)
    args = parser.parse_args()
    api = ClassifierAPI(args.ckpt_path, args.max_batch_size, args.batch_timeout)
    server = ls.LitServer(api, accelerator="cpu")
    server.run(
        host="127.0.0.1",
        port=args.port,
        num_api_servers=args.api_servers,
        log_level="warning",
        generate_client_file=False,
    )


if __name__ == "__main__":
    main()
