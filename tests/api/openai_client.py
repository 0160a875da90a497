#!/usr/bin/env python3
"""The official openai client against Utter's API: usage `openai_client.py BASE_URL OUT_DIR`.
Makes speech whole (response_format wav) and streamed (with_streaming_response, stream: true)
for a few sentences, writes OUT_DIR/NN.wav and OUT_DIR/refs.txt (the sentences, for the Whisper
judge) and prints, per request, the time to the first streamed bytes."""
import os, sys, time

from openai import OpenAI

SENTENCES = [
    "Your meeting with the design team starts at half past nine.",
    "Please read the report before you record the results.",
    "The train to Boston leaves from platform seven in ten minutes.",
    "Reading aloud helps many people understand long documents.",
]


def main():
    base, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    client = OpenAI(base_url=base, api_key="not-needed-on-loopback")
    refs = []
    n = 0
    for i, text in enumerate(SENTENCES):
        # Whole: the client's ordinary call.
        audio = client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="wav")
        path = os.path.join(out, f"{n:02d}.wav")
        audio.write_to_file(path)
        refs.append(text)
        n += 1
        # Streamed: bytes as they are made.
        started = time.perf_counter()
        first = None
        path = os.path.join(out, f"{n:02d}.wav")
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="nova", input=text, response_format="wav", extra_body={"stream": True}
        ) as response:
            with open(path, "wb") as f:
                for chunk in response.iter_bytes():
                    if first is None and chunk:
                        first = time.perf_counter() - started
                    f.write(chunk)
        print(f"streamed {text[:30]!r}: first bytes after {first * 1000:.0f} ms")
        refs.append(text)
        n += 1
    with open(os.path.join(out, "refs.txt"), "w") as f:
        f.write("\n".join(refs) + "\n")


if __name__ == "__main__":
    main()
