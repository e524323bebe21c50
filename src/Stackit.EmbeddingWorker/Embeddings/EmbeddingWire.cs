using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stackit.EmbeddingWorker.Embeddings;

// The OpenAI-compatible /embeddings wire format, as STACKIT (vLLM) speaks it.

internal sealed record EmbeddingRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("input")] IReadOnlyList<string> Input,
    [property: JsonPropertyName("encoding_format")] string EncodingFormat,
    [property: JsonPropertyName("dimensions")] int? Dimensions = null);

/// <summary>The multimodal form: one chat-style user message of text and image parts, one embedding back.</summary>
internal sealed record MultimodalEmbeddingRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatMessage> Messages,
    [property: JsonPropertyName("encoding_format")] string EncodingFormat,
    [property: JsonPropertyName("dimensions")] int? Dimensions = null);

internal sealed record ChatMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] IReadOnlyList<ContentPart> Content);

internal sealed record ContentPart(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("text")] string? Text = null,
    [property: JsonPropertyName("image_url")] ImageUrl? ImageUrl = null);

internal sealed record ImageUrl([property: JsonPropertyName("url")] string Url);

internal sealed class EmbeddingResponse
{
    [JsonPropertyName("data")]
    public List<EmbeddingData>? Data { get; set; }

    [JsonPropertyName("model")]
    public string? Model { get; set; }

    [JsonPropertyName("usage")]
    public EmbeddingUsage? Usage { get; set; }
}

internal sealed class EmbeddingData
{
    [JsonPropertyName("index")]
    public int Index { get; set; } = -1;

    [JsonPropertyName("embedding")]
    [JsonConverter(typeof(VectorJsonConverter))]
    public float[]? Embedding { get; set; }
}

internal sealed class EmbeddingUsage
{
    [JsonPropertyName("prompt_tokens")]
    public int PromptTokens { get; set; }

    [JsonPropertyName("total_tokens")]
    public int TotalTokens { get; set; }
}

internal sealed class ErrorResponse
{
    [JsonPropertyName("error")]
    public ErrorBody? Error { get; set; }
}

internal sealed class ErrorBody
{
    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(MultimodalEmbeddingRequest))]
[JsonSerializable(typeof(EmbeddingResponse))]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class EmbeddingWireContext : JsonSerializerContext
{
    /// <summary>
    /// For request bodies: texts go out as UTF-8 instead of the default encoder's <c>\uXXXX</c> for every non-ASCII
    /// character (an HTML-safety measure), so "gemäß" is 7 bytes instead of 15 and costs no escaping work. JSON's own
    /// escapes (quotes, backslashes, control characters) are still written; the body is never put into HTML.
    /// </summary>
    public static EmbeddingWireContext Requests { get; } = new(new JsonSerializerOptions
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
