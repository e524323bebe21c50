using System.Net.Http.Json;
using System.Text.Json;
using Stackit.EmbeddingWorker.Transport;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>
/// Typed client for <c>POST {BaseUrl}/embeddings</c>. Retries, Retry-After and timeouts live in the
/// resilience handler around the HttpClient; this class speaks the wire format and checks the answer.
/// </summary>
internal sealed partial class OpenAiEmbeddingClient(HttpClient http, EmbeddingsOptions options, EncodingNegotiation encoding, ILogger<OpenAiEmbeddingClient> logger) : IEmbeddingClient
{
    private const int MaxErrorBodyChars = 2_000;

    public Task<EmbeddingResult> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken) =>
        EmbedAsync(options.Model, options.Dimensions, inputs, cancellationToken);

    public Task<EmbeddingResult> EmbedAsync(string model, int? dimensions, IReadOnlyList<string> inputs, CancellationToken cancellationToken) =>
        WithEncodingAsync(format => JsonContent.Create(new EmbeddingRequest(model, inputs, EncodingNegotiation.WireName(format), dimensions), EmbeddingWireContext.Requests.EmbeddingRequest),
            model, inputs.Count, dimensions, cancellationToken);

    public Task<EmbeddingResult> EmbedMultimodalAsync(string? text, IReadOnlyList<string> images, CancellationToken cancellationToken)
    {
        var model = options.MultimodalModel ?? throw new InvalidOperationException("Embeddings:MultimodalModel is not set.");
        var parts = new List<ContentPart>(images.Count + 1);
        if (!string.IsNullOrEmpty(text))
        {
            parts.Add(new ContentPart("text", Text: text));
        }
        parts.AddRange(images.Select(image => new ContentPart("image_url", ImageUrl: new ImageUrl(image))));
        ChatMessage[] messages = [new("user", parts)];
        return WithEncodingAsync(format => JsonContent.Create(new MultimodalEmbeddingRequest(model, messages, EncodingNegotiation.WireName(format), options.MultimodalDimensions), EmbeddingWireContext.Requests.MultimodalEmbeddingRequest),
            model, 1, options.MultimodalDimensions, cancellationToken);
    }

    /// <summary>Asks in the negotiated encoding; when the server refuses base64, asks again (and from now on) for floats.</summary>
    private async Task<EmbeddingResult> WithEncodingAsync(Func<EmbeddingEncoding, HttpContent> request, string model, int inputCount, int? dimensions, CancellationToken cancellationToken)
    {
        var asked = encoding.Current;
        EmbeddingResult result;
        try
        {
            result = await SendAsync(request(asked), model, inputCount, cancellationToken).ConfigureAwait(false);
        }
        catch (EmbeddingRequestException ex) when (encoding.TryFallBack(asked, ex))
        {
            LogBase64Refused(ex.ServerMessage);
            result = await SendAsync(request(EmbeddingEncoding.Float), model, inputCount, cancellationToken).ConfigureAwait(false);
        }
        if (dimensions is { } size && result.Vectors[0].Length != size)
        {
            // A server that ignores `dimensions` answers with the model's full size: storing that would fail every write.
            throw new EmbeddingResponseException($"embeddings response has vectors of {result.Vectors[0].Length} dimensions; {size} were asked for (Embeddings:Dimensions). Does the model support shorter vectors?");
        }
        return result;
    }

    /// <summary>The model a request asks for, for the handlers that answer to that model's budget.</summary>
    internal static readonly HttpRequestOptionsKey<string> ModelOption = new("embedding_worker.model");

    private async Task<EmbeddingResult> SendAsync(HttpContent request, string model, int inputCount, CancellationToken cancellationToken)
    {
        using var post = new HttpRequestMessage(HttpMethod.Post, options.EmbeddingsUri) { Content = request };
        post.Options.Set(ModelOption, model);
        // Headers only: the body is read inside the attempt by the ResponseBufferingHandler, not buffered again here.
        using var response = await http.SendAsync(post, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var message = await ReadErrorMessageAsync(response, cancellationToken).ConfigureAwait(false);
            throw new EmbeddingRequestException(response.StatusCode, message);
        }

        // The ResponseBufferingHandler has read the body already; a client built without it reads it here.
        using var pooled = response.Content as PooledContent
            ?? await PooledContent.ReadAsync(response.Content, ResponseBufferingHandler.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        EmbeddingResponse? body;
        try
        {
            body = JsonSerializer.Deserialize(pooled.Span, EmbeddingWireContext.Default.EmbeddingResponse);
        }
        catch (JsonException ex)
        {
            throw new EmbeddingResponseException($"embeddings response is not valid JSON: {ex.Message}");
        }
        return new EmbeddingResult(MapByIndex(body?.Data, inputCount), body?.Usage?.PromptTokens);
    }

    /// <summary>Places each vector by its <c>index</c>; order in the array is not trusted.</summary>
    internal static float[][] MapByIndex(List<EmbeddingData>? data, int inputCount)
    {
        if (data is null || data.Count != inputCount)
        {
            throw new EmbeddingResponseException($"embeddings response holds {data?.Count ?? 0} vectors for {inputCount} inputs.");
        }
        var vectors = new float[inputCount][];
        foreach (var item in data)
        {
            if (item.Index < 0 || item.Index >= inputCount)
            {
                throw new EmbeddingResponseException($"embeddings response has index {item.Index}, outside 0..{inputCount - 1}.");
            }
            if (vectors[item.Index] is not null)
            {
                throw new EmbeddingResponseException($"embeddings response has index {item.Index} twice.");
            }
            if (item.Embedding is not { Length: > 0 })
            {
                throw new EmbeddingResponseException($"embeddings response has an empty vector at index {item.Index}.");
            }
            if (!AllFinite(item.Embedding))
            {
                // 1e39 reads as infinity in float32; NaN comes straight from base64. Neither may reach Qdrant.
                throw new EmbeddingResponseException($"embeddings response has NaN or infinite values in the vector at index {item.Index}.");
            }
            vectors[item.Index] = item.Embedding;
        }
        var dimension = vectors[0].Length;
        if (vectors.Any(v => v.Length != dimension))
        {
            throw new EmbeddingResponseException("embeddings response mixes vector dimensions.");
        }
        return vectors;
    }

    private static async Task<string> ReadErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var error = JsonSerializer.Deserialize(text, EmbeddingWireContext.Default.ErrorResponse);
            if (error?.Error?.Message is { Length: > 0 } message)
            {
                return Shorten(message);
            }
        }
        catch (JsonException)
        {
            // Not the OpenAI error shape (a proxy's HTML page, say): fall back to the raw text.
        }
        return text.Length == 0 ? response.ReasonPhrase ?? "no message" : Shorten(text);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The embeddings endpoint refused base64 vectors; asking for floats from now on: {ServerMessage}")]
    private partial void LogBase64Refused(string serverMessage);

    private static string Shorten(string text) => text.Length <= MaxErrorBodyChars ? text : text[..MaxErrorBodyChars] + "…";

    private static bool AllFinite(float[] vector)
    {
        foreach (var value in vector)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }
        return true;
    }
}
