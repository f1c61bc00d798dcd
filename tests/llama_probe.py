"""Can this llama-cpp-python build run the bundled model on this CPU? Exit 0 if so.

pip caches the wheel it builds, and llama.cpp builds for the CPU it is built on by default
(GGML_NATIVE): on another machine, or a virtual machine that advertises instructions it does not
enable (AMX, AVX512-BF16), the process dies with an illegal instruction (SIGILL) as soon as a
prompt of a few tokens is evaluated. tests/test_local_model.py runs this in a subprocess before
its real-model tests; .ci/run runs it and rebuilds llama-cpp-python portably when it fails.

    python tests/llama_probe.py
"""

import llama_cpp

from summarizer.llm.local import bundled_model_path

# A prompt of a few dozen tokens: evaluating it takes the batched matrix kernels, which is where a
# build made for another CPU dies (a one-token prompt can pass on a build that then crashes).
PROMPT = b"The quick brown fox jumps over the lazy dog. " * 6

if __name__ == "__main__":
    model = llama_cpp.Llama(model_path=str(bundled_model_path()), n_ctx=512, verbose=False)
    model.eval(model.tokenize(PROMPT))
    print(f"llama-cpp-python {llama_cpp.__version__} runs here")
