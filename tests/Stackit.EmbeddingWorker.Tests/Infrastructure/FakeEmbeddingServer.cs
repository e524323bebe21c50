using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>
/// An OpenAI-compatible <c>/v1/embeddings</c> server on loopback, shaped like STACKIT's (vLLM) answers.
/// Vectors are a deterministic function of the input text (<see cref="VectorFor"/>), so a test can check
/// that every stored vector belongs to its own text. Latency, faults, the per-input token limit and the
/// order of <c>data</c> are the test's to set.
/// </summary>
public sealed class FakeEmbeddingServer : IAsyncDisposable
{
    public const string ApiKey = "test-secret-api-key-0123456789";

    private LoopbackEmbeddingsHost _host = null!;
    private readonly ConcurrentQueue<ScriptedFault> _faults = new();
    private int _inFlight;
    private int _peakInFlight;

    private FakeEmbeddingServer()
    {
    }

    public Uri BaseUrl => _host.BaseUrl;

    /// <summary>
    /// A strict sliding window, as an endpoint may count its limit: a request whose tokens would bring those admitted in
    /// the last 60 s above this is answered 429 with Retry-After (until enough leave the window) and not counted.
    /// </summary>
    public int? SlidingWindowTokensPerMinute { get; set; }

    /// <summary>The answers 429 the sliding window gave.</summary>
    public int WindowRefusals => Volatile.Read(ref _windowRefusals);

    private readonly Queue<(DateTimeOffset At, int Tokens)> _window = new();
    private readonly Lock _windowGate = new();
    private long _windowTokens;
    private int _windowRefusals;

    public int Dimensions { get; set; } = 8;

    /// <summary>Answers with <see cref="Dimensions"/> even when a request asks for <c>dimensions</c> (a model without shorter vectors).</summary>
    public bool IgnoreDimensionsParameter { get; set; }

    /// <summary>The model's context: an input counted longer than this fails the whole request with 400.</summary>
    public int MaxInputTokens { get; set; } = 4096;

    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>Answer <c>encoding_format: base64</c> with 400, as a server without base64 support does.</summary>
    public bool RefuseBase64 { get; set; }

    /// <summary>Answer with number arrays whatever <c>encoding_format</c> asked for.</summary>
    public bool IgnoreEncodingFormat { get; set; }

    /// <summary>A request with an input containing this text is refused with 400, as a server refuses bad content.</summary>
    public string? RefusedMarker { get; set; }

    /// <summary>Answer with <c>data</c> in reverse order (indexes stay right), as a server may.</summary>
    public bool ReverseOrder { get; set; }

    /// <summary>While true, every request is answered 503: the endpoint is down.</summary>
    public bool Down { get; set; }

    /// <summary>How long a <see cref="EndpointFault.Stall"/> holds its request before answering.</summary>
    public TimeSpan StallFor { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Headers sent with every answer, such as OpenAI's <c>x-ratelimit-*</c>; none by default.</summary>
    public IReadOnlyDictionary<string, string> ResponseHeaders { get; set; } = new Dictionary<string, string>();

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>
    /// Inputs answered with the vector of another text: the deterministic vectors know no meaning, so a test says
    /// which text a query is about (input → text whose vector it gets).
    /// </summary>
    public ConcurrentDictionary<string, string> SameVectorAs { get; } = new(StringComparer.Ordinal);

    /// <summary>Answers every input with a vector that is not its own (that of the text reversed): a misconfigured model.</summary>
    public bool WrongVectors { get; set; }

    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    /// <summary>Tokens as this server counts them: a quarter of the UTF-8 length, rounded up.</summary>
    public static int CountTokens(string text) => Math.Max(1, (Encoding.UTF8.GetByteCount(text) + 3) / 4);

    public static async Task<FakeEmbeddingServer> StartAsync()
    {
        var server = new FakeEmbeddingServer();
        server._host = await LoopbackEmbeddingsHost.StartAsync(server.HandleAsync);
        return server;
    }

    /// <summary>The next request is answered with this status (and Retry-After, if given) instead of vectors.</summary>
    public void EnqueueFault(HttpStatusCode status, string? retryAfter = null, string? message = null) =>
        _faults.Enqueue(new ScriptedFault(EndpointFault.Status, status, retryAfter, message));

    /// <summary>The next request meets this fault (a reset, a stall, a malformed answer) instead of a plain answer.</summary>
    public void EnqueueFault(EndpointFault fault) => _faults.Enqueue(new ScriptedFault(fault, HttpStatusCode.OK, null, null));

    /// <summary>Scripted faults not yet met by a request.</summary>
    public int PendingFaults => _faults.Count;

    /// <summary>What a multimodal request's vector derives from (see <see cref="VectorFor"/>): its text and image URLs.</summary>
    public static string MultimodalKey(string text, IEnumerable<string> imageUrls) => text + "\n" + string.Join("\n", imageUrls);

    public static float[] VectorFor(string text, int dimensions)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        var vector = new float[dimensions];
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = (hash[i % hash.Length] - 127.5f) / 127.5f;
        }
        return vector;
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    /// <summary>Admits <paramref name="tokens"/> into the window (null), or how long until they would fit.</summary>
    private TimeSpan? WindowWait(int tokens, int perMinute)
    {
        lock (_windowGate)
        {
            var now = DateTimeOffset.UtcNow;
            while (_window.Count > 0 && now - _window.Peek().At >= TimeSpan.FromMinutes(1))
            {
                _windowTokens -= _window.Dequeue().Tokens;
            }
            if (_windowTokens + tokens <= perMinute)
            {
                _window.Enqueue((now, tokens));
                _windowTokens += tokens;
                return null;
            }
            long freed = 0;
            foreach (var (at, taken) in _window)
            {
                freed += taken;
                if (_windowTokens - freed + tokens <= perMinute)
                {
                    return at + TimeSpan.FromMinutes(1) - now;
                }
            }
            return TimeSpan.FromMinutes(1);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var now = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _peakInFlight, now);
        try
        {
            await AnswerAsync(context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task AnswerAsync(HttpContext context)
    {
        using var raw = new MemoryStream();
        await context.Request.Body.CopyToAsync(raw);
        var bytes = raw.GetBuffer().AsMemory(0, (int)raw.Length);
        using var body = JsonDocument.Parse(bytes);
        var model = body.RootElement.GetProperty("model").GetString()!;
        var format = body.RootElement.TryGetProperty("encoding_format", out var f) ? f.GetString() : null;
        var dimensions = body.RootElement.TryGetProperty("dimensions", out var d) && !IgnoreDimensionsParameter ? d.GetInt32() : Dimensions;
        List<string> inputs;
        var images = 0;
        if (body.RootElement.TryGetProperty("messages", out var messages))
        {
            // The multimodal form: one embedding of all text and image parts of the (single) user message.
            var parts = messages.EnumerateArray().SelectMany(m => m.GetProperty("content").EnumerateArray()).ToList();
            var text = string.Concat(parts.Where(p => p.GetProperty("type").GetString() == "text").Select(p => p.GetProperty("text").GetString()));
            var urls = parts.Where(p => p.GetProperty("type").GetString() == "image_url").Select(p => p.GetProperty("image_url").GetProperty("url").GetString()!).ToList();
            images = urls.Count;
            inputs = [MultimodalKey(text, urls)];
        }
        else
        {
            inputs = body.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetString()!).ToList();
        }
        Requests.Enqueue(new RecordedRequest(DateTimeOffset.UtcNow, inputs, context.Request.Headers.Authorization.ToString(), format, model, images, Encoding.UTF8.GetString(bytes.Span)));

        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, context.RequestAborted);
        }
        foreach (var (name, value) in ResponseHeaders)
        {
            context.Response.Headers[name] = value;
        }
        if (context.Request.Headers.Authorization != $"Bearer {ApiKey}")
        {
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.Unauthorized, "Invalid API key.", null);
            return;
        }
        if (Down)
        {
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.ServiceUnavailable, "The model is not available.", null);
            return;
        }
        var fault = _faults.TryDequeue(out var scripted) ? scripted.Kind : EndpointFault.None;
        switch (fault)
        {
            case EndpointFault.Status:
                await LoopbackEmbeddingsHost.WriteErrorAsync(context, scripted!.Status, scripted.Message ?? "Injected fault.", scripted.RetryAfter);
                return;
            case EndpointFault.ConnectionReset:
                context.Abort();
                return;
            case EndpointFault.Stall:
                await Task.Delay(StallFor, context.RequestAborted);
                break;
        }
        if (RefuseBase64 && format == "base64")
        {
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.BadRequest, "encoding_format 'base64' is not supported by this server.", null);
            return;
        }
        if (RefusedMarker is { } marker && inputs.Any(i => i.Contains(marker, StringComparison.Ordinal)))
        {
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.BadRequest, "Input contains content this model refuses.", null);
            return;
        }
        var tokens = inputs.Select(CountTokens).ToList();
        if (SlidingWindowTokensPerMinute is { } perMinute && WindowWait(tokens.Sum(), perMinute) is { } wait)
        {
            Interlocked.Increment(ref _windowRefusals);
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.TooManyRequests, "Rate limit reached for tokens per minute.",
                Math.Ceiling(wait.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return;
        }
        if (tokens.FirstOrDefault(t => t > MaxInputTokens) is var tooLong and > 0)
        {
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.BadRequest,
                $"This model's maximum context length is {MaxInputTokens} tokens. However, you requested {tooLong} tokens in the input for embedding generation. Please reduce the length of the input.",
                null);
            return;
        }

        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("id", $"embd-{Guid.NewGuid():N}");
        writer.WriteString("object", "list");
        writer.WriteString("model", model);
        writer.WriteStartArray("data");
        var order = Enumerable.Range(0, fault == EndpointFault.FewerVectors ? inputs.Count - 1 : inputs.Count);
        foreach (var i in ReverseOrder ? order.Reverse() : order)
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", fault == EndpointFault.WrongIndex ? i + 1 : i);
            writer.WriteString("object", "embedding");
            var source = SameVectorAs.GetValueOrDefault(inputs[i], inputs[i]);
            var vector = VectorFor(WrongVectors ? new string(source.Reverse().ToArray()) : source, dimensions);
            var nonFinite = fault == EndpointFault.NonFiniteVector && i == 0;
            if (format == "base64" && !IgnoreEncodingFormat)
            {
                if (nonFinite)
                {
                    vector[0] = float.NaN;
                }
                writer.WriteBase64String("embedding", System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()));
            }
            else
            {
                writer.WriteStartArray("embedding");
                foreach (var value in vector)
                {
                    if (nonFinite)
                    {
                        writer.WriteRawValue("1e39");
                        nonFinite = false;
                        continue;
                    }
                    writer.WriteNumberValue(value);
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
            if (fault is EndpointFault.BodyBreaksOff or EndpointFault.BodyStalls)
            {
                // Headers and the first vector are on the wire; the rest breaks off or comes late.
                await writer.FlushAsync(context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                if (fault == EndpointFault.BodyBreaksOff)
                {
                    // A moment for the client to read what was sent: a reset can discard unread data on its side.
                    await Task.Delay(TimeSpan.FromMilliseconds(200), context.RequestAborted);
                    context.Abort();
                    return;
                }
                await Task.Delay(StallFor, context.RequestAborted);
                fault = EndpointFault.None;
            }
        }
        writer.WriteEndArray();
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", tokens.Sum());
        writer.WriteNumber("total_tokens", tokens.Sum());
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private sealed record ScriptedFault(EndpointFault Kind, HttpStatusCode Status, string? RetryAfter, string? Message);
}

public enum EndpointFault
{
    None,

    /// <summary>An HTTP error status, optionally with Retry-After.</summary>
    Status,

    /// <summary>The connection is dropped without an answer.</summary>
    ConnectionReset,

    /// <summary>The answer comes after <see cref="FakeEmbeddingServer.StallFor"/>, longer than the client waits.</summary>
    Stall,

    /// <summary>200 and the start of the body, then the connection is dropped.</summary>
    BodyBreaksOff,

    /// <summary>200 and the start of the body, the rest after <see cref="FakeEmbeddingServer.StallFor"/>.</summary>
    BodyStalls,

    /// <summary>200 with one vector fewer than there were inputs.</summary>
    FewerVectors,

    /// <summary>200 with every <c>index</c> shifted by one, so the last points past the inputs.</summary>
    WrongIndex,

    /// <summary>200 with a NaN in the first vector (base64), or 1e39, past float32's range, in a JSON array.</summary>
    NonFiniteVector,
}

public sealed record RecordedRequest(DateTimeOffset At, IReadOnlyList<string> Inputs, string Authorization, string? EncodingFormat, string Model = "", int Images = 0, string Body = "");
