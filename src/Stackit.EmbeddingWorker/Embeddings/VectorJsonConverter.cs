using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>
/// Reads an <c>embedding</c> as either a JSON array of numbers or a base64 string of little-endian float32
/// bytes, whichever the server sent: servers that ignore <c>encoding_format</c> still work.
/// </summary>
internal sealed class VectorJsonConverter : JsonConverter<float[]>
{
    public override float[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return FromBase64(ref reader);
            case JsonTokenType.StartArray:
                var values = new List<float>(1024);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    values.Add(reader.GetSingle());
                }
                var vector = NewVector(values.Count);
                values.CopyTo(vector);
                return vector;
            default:
                throw new JsonException($"an embedding must be an array of numbers or a base64 string, not {reader.TokenType}.");
        }
    }

    public override void Write(Utf8JsonWriter writer, float[] value, JsonSerializerOptions options) =>
        throw new NotSupportedException("Vectors are only read.");

    private static float[] FromBase64(ref Utf8JsonReader reader)
    {
        // The common case decodes straight into the vector: no intermediate byte array.
        if (!reader.HasValueSequence && !reader.ValueIsEscaped && BitConverter.IsLittleEndian)
        {
            var text = reader.ValueSpan;
            var padding = text.EndsWith("=="u8) ? 2 : text.EndsWith("="u8) ? 1 : 0;
            var byteCount = (text.Length / 4 * 3) - padding;
            if (text.Length % 4 != 0 || byteCount % sizeof(float) != 0)
            {
                throw new JsonException($"a base64 embedding of {text.Length} characters is not a whole number of float32 values.");
            }
            // Every element is written by the decoder: no need to zero 16 KB first.
            var decoded = NewVector(byteCount / sizeof(float));
            var status = Base64.DecodeFromUtf8(text, MemoryMarshal.AsBytes(decoded.AsSpan()), out _, out var written);
            if (status != OperationStatus.Done || written != byteCount)
            {
                throw new JsonException("an embedding string is not valid base64.");
            }
            return decoded;
        }

        byte[] bytes;
        try
        {
            bytes = reader.GetBytesFromBase64();
        }
        catch (FormatException)
        {
            throw new JsonException("an embedding string is not valid base64.");
        }
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new JsonException($"a base64 embedding holds {bytes.Length} bytes, not a whole number of float32 values.");
        }
        var vector = NewVector(bytes.Length / sizeof(float));
        MemoryMarshal.Cast<byte, float>(bytes).CopyTo(vector);
        if (!BitConverter.IsLittleEndian)
        {
            var raw = MemoryMarshal.Cast<float, int>(vector.AsSpan());
            BinaryPrimitives.ReverseEndianness(raw, raw);
        }
        return vector;
    }

    private static float[] NewVector(int length) => VectorBuffers.Allocate(length);
}
