using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// An OpenAI-compatible <c>/v1/embeddings</c> on loopback that behaves like an endpoint of known capacity
/// (<see cref="EndpointModel"/>): it counts tokens as a Llama-family tokenizer roughly does (a quarter of
/// the UTF-8 bytes plus a begin marker), serves a fixed number of requests at once, and records every request.
/// Vectors are one fixed vector, serialized once: the benchmark measures the client, not this server.
/// </summary>
internal sealed class SimulatedEndpoint : IAsyncDisposable
{
    private LoopbackEmbeddingsHost _host = null!;
    private readonly ConcurrentQueue<ServedRequest> _served = new();
    private readonly ConcurrentDictionary<long, bool> _inService = new();
    private long _requestNumbers;
    private EndpointModel _model = null!;
    private SemaphoreSlim _slots = null!;
    // STACKIT limits each model of a project apart: one pair of minute budgets per model asked for.
    private readonly Dictionary<string, (IMinuteLimit? Tokens, IMinuteLimit? Requests)> _budgets = new(StringComparer.Ordinal);
    private readonly Lock _budgetGate = new();
    private Random _faults = new(5);
    private byte[] _base64Vector = [];
    private byte[] _floatVector = [];

    public Uri BaseUrl => _host.BaseUrl;

    public static async Task<SimulatedEndpoint> StartAsync()
    {
        var endpoint = new SimulatedEndpoint();
        endpoint._host = await LoopbackEmbeddingsHost.StartAsync(endpoint.HandleAsync);
        return endpoint;
    }

    /// <summary>Sets the capacity model for the next run and forgets the last run's requests.</summary>
    public void Reset(EndpointModel model)
    {
        _model = model;
        _slots = new SemaphoreSlim(model.Slots);
        lock (_budgetGate)
        {
            _budgets.Clear();
            _faults = new Random(5);
        }
        _served.Clear();
        var vector = new float[model.Dimensions];
        var random = new Random(1);
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(random.NextDouble() - 0.5);
        }
        _base64Vector = Encoding.ASCII.GetBytes("\"" + Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan())) + "\"");
        _floatVector = Encoding.ASCII.GetBytes(JsonSerializer.Serialize(vector));
    }

    public IReadOnlyList<ServedRequest> Served => [.. _served];

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) until every request being served now has been answered and recorded,
    /// so a window's end does not cut off the requests it was serving: a client killed at once would abort them,
    /// and their service inside the window would go uncounted.
    /// </summary>
    public async Task WaitForServiceInProgressAsync(TimeSpan limit)
    {
        var serving = _inService.Keys.ToList();
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (serving.Any(_inService.ContainsKey) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    public static int CountTokens(string text) => ((Encoding.UTF8.GetByteCount(text) + 3) / 4) + 1;

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        var arrived = Stopwatch.GetTimestamp();
        List<string> inputs;
        bool base64;
        int? dimensions;
        string model;
        using (var body = await JsonDocument.ParseAsync(context.Request.Body))
        {
            model = body.RootElement.TryGetProperty("model", out var named) ? named.GetString() ?? "" : "";
            inputs = [.. body.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetString()!)];
            base64 = body.RootElement.TryGetProperty("encoding_format", out var format) && format.GetString() == "base64";
            dimensions = body.RootElement.TryGetProperty("dimensions", out var asked) && asked.ValueKind == JsonValueKind.Number ? asked.GetInt32() : null;
        }
        var tokens = inputs.Sum(CountTokens);
        if (inputs.Count > _model.MaxInputsPerRequest || tokens > _model.MaxTokensPerRequest || inputs.Any(i => CountTokens(i) > 4096))
        {
            Record(arrived, arrived, inputs.Count, tokens, 400, model: model);
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.BadRequest, $"This request has {inputs.Count} inputs and {tokens} tokens; the limits are {_model.MaxInputsPerRequest} inputs, {_model.MaxTokensPerRequest} tokens and 4096 tokens an input.", null);
            return;
        }
        var (wait, limits) = TakeBudget(model, tokens);
        if (_model.RateLimitHeaders)
        {
            foreach (var (name, value) in limits)
            {
                context.Response.Headers[name] = value;
            }
        }
        if (wait > 0)
        {
            Record(arrived, arrived, inputs.Count, tokens, 429, model: model);
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.TooManyRequests, "Rate limit reached for tokens or requests per minute.", Math.Ceiling(wait).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return;
        }
        if (Faults())
        {
            Record(arrived, arrived, inputs.Count, tokens, 500, model: model);
            await LoopbackEmbeddingsHost.WriteErrorAsync(context, HttpStatusCode.InternalServerError, "Injected fault (the benchmark's FaultRate).", null);
            return;
        }

        await _slots.WaitAsync(context.RequestAborted);
        var number = Interlocked.Increment(ref _requestNumbers);
        _inService[number] = true;
        try
        {
            long started;
            long released;
            try
            {
                started = Stopwatch.GetTimestamp();
                await Task.Delay(_model.ServiceTime(tokens), context.RequestAborted);
            }
            finally
            {
                _slots.Release();
                released = Stopwatch.GetTimestamp();
            }
            await WriteVectorsAsync(context, inputs.Count, tokens, base64, dimensions);
            Record(arrived, started, inputs.Count, tokens, 200, released, model);
        }
        finally
        {
            _inService.TryRemove(number, out _);
        }
    }

    /// <summary>
    /// Writes the answer in one piece with its Content-Length, as a server that serializes the whole JSON before
    /// sending it does (FastAPI's JSONResponse, for one). Flushing after every vector instead sends the body
    /// chunked, a few kilobytes per read on the client's side, and costs the client a socket read per vector.
    /// </summary>
    private async Task WriteVectorsAsync(HttpContext context, int count, int tokens, bool base64, int? dimensions)
    {
        // A request that asks for shorter vectors (the dimensions parameter) gets them, as models with shorter vectors do.
        var vector = dimensions is { } size && size != _model.Dimensions ? Shorter(size, base64) : base64 ? _base64Vector : _floatVector;
        var opening = "{\"object\":\"list\",\"model\":\"simulated\",\"data\":["u8;
        var closing = Encoding.ASCII.GetBytes($"],\"usage\":{{\"prompt_tokens\":{tokens},\"total_tokens\":{tokens}}}}}");
        var heads = new byte[count][];
        var length = opening.Length + closing.Length;
        for (var i = 0; i < count; i++)
        {
            heads[i] = Encoding.ASCII.GetBytes($"{(i == 0 ? "" : ",")}{{\"object\":\"embedding\",\"index\":{i},\"embedding\":");
            length += heads[i].Length + vector.Length + 1;
        }
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = length;
        var output = context.Response.BodyWriter;
        output.Write(opening);
        foreach (var head in heads)
        {
            output.Write(head);
            output.Write(vector);
            output.Write("}"u8);
        }
        output.Write(closing);
        await output.FlushAsync();
    }

    /// <summary>
    /// Takes one request and <paramref name="tokens"/> from the minute budgets of <paramref name="model"/>, or nothing: a
    /// refused request spends neither, as a real rate limiter does not charge for what it turned away.
    /// </summary>
    private (double Wait, List<(string Name, string Value)> Limits) TakeBudget(string model, int tokens)
    {
        lock (_budgetGate)
        {
            if (!_budgets.TryGetValue(model, out var budgets))
            {
                budgets = _model.SlidingWindow
                    ? (_model.TokensPerMinute is { } tpmWindow ? new SlidingMinute(tpmWindow) : null,
                        _model.RequestsPerMinute is { } rpmWindow ? new SlidingMinute(rpmWindow) : null)
                    : (_model.TokensPerMinute is { } tpm ? new MinuteBudget(tpm, Math.Max(_model.MaxTokensPerRequest, tpm / 30)) : null,
                        _model.RequestsPerMinute is { } rpm ? new MinuteBudget(rpm, Math.Max(1, rpm / 30)) : null);
                _budgets[model] = budgets;
            }
            var (tokenBudget, requestBudget) = budgets;
            var wait = Math.Max(requestBudget?.Shortfall(1) ?? 0, tokenBudget?.Shortfall(tokens) ?? 0);
            if (wait == 0)
            {
                requestBudget?.Take(1);
                tokenBudget?.Take(tokens);
            }
            var limits = new List<(string, string)>();
            foreach (var (kind, budget, perMinute) in new[] { ("requests", requestBudget, _model.RequestsPerMinute), ("tokens", tokenBudget, _model.TokensPerMinute) })
            {
                if (budget is not null)
                {
                    limits.Add(($"x-ratelimit-limit-{kind}", perMinute!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    limits.Add(($"x-ratelimit-remaining-{kind}", ((long)Math.Max(0, budget.Available)).ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    limits.Add(($"x-ratelimit-reset-{kind}", budget.SecondsToFull.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "s"));
                }
            }
            return (wait, limits);
        }
    }

    /// <summary>Whether this admitted request fails after all (<see cref="EndpointModel.FaultRate"/>), from a seeded sequence.</summary>
    private bool Faults()
    {
        if (_model.FaultRate <= 0)
        {
            return false;
        }
        lock (_budgetGate)
        {
            return _faults.NextDouble() < _model.FaultRate;
        }
    }

    private readonly ConcurrentDictionary<(int, bool), byte[]> _shorter = new();

    private byte[] Shorter(int size, bool base64) => _shorter.GetOrAdd((size, base64), key =>
    {
        var vector = new float[key.Item1];
        var random = new Random(key.Item1);
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(random.NextDouble() - 0.5);
        }
        return key.Item2
            ? Encoding.ASCII.GetBytes("\"" + Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan())) + "\"")
            : Encoding.ASCII.GetBytes(JsonSerializer.Serialize(vector));
    });

    private void Record(long arrived, long started, int inputs, int tokens, int status, long? released = null, string model = "") =>
        _served.Enqueue(new ServedRequest(arrived, started, Stopwatch.GetTimestamp(), inputs, tokens, status, released ?? started, model));

    /// <summary>A server-side per-minute limit. Not thread-safe: callers lock.</summary>
    private interface IMinuteLimit
    {
        /// <summary>0 if <paramref name="amount"/> fits now, or the seconds until it would.</summary>
        double Shortfall(int amount);

        void Take(int amount);

        double Available { get; }

        double SecondsToFull { get; }
    }

    /// <summary>
    /// A strict sliding window: what was taken in the last 60 s (every 60 s interval, not a refilling bucket) may not
    /// exceed the minute's budget.
    /// </summary>
    private sealed class SlidingMinute(int perMinute) : IMinuteLimit
    {
        private static readonly long Minute = Stopwatch.Frequency * 60;
        private readonly Queue<(long At, int Amount)> _taken = new();
        private long _sum;

        public double Shortfall(int amount)
        {
            var now = Stopwatch.GetTimestamp();
            Expire(now);
            if (_sum + amount <= perMinute)
            {
                return 0;
            }
            // Until enough of the oldest takes leave the window.
            var freed = 0L;
            foreach (var (at, taken) in _taken)
            {
                freed += taken;
                if (_sum - freed + amount <= perMinute)
                {
                    return Math.Max(0.001, (at + Minute - now) / (double)Stopwatch.Frequency);
                }
            }
            return 60;
        }

        public void Take(int amount)
        {
            _taken.Enqueue((Stopwatch.GetTimestamp(), amount));
            _sum += amount;
        }

        public double Available => perMinute - _sum;

        public double SecondsToFull => _taken.Count == 0 ? 0 : Math.Max(0, (_taken.Last().At + Minute - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);

        private void Expire(long now)
        {
            while (_taken.Count > 0 && now - _taken.Peek().At >= Minute)
            {
                _sum -= _taken.Dequeue().Amount;
            }
        }
    }

    /// <summary>A server-side token bucket: refills at the minute rate, holds <c>burst</c>. Not thread-safe: callers lock.</summary>
    private sealed class MinuteBudget(int perMinute, int burst) : IMinuteLimit
    {
        private double _available = burst;
        private long _last = Stopwatch.GetTimestamp();

        /// <summary>Refills, then returns 0 if <paramref name="amount"/> fits now, or the seconds until it would.</summary>
        public double Shortfall(int amount)
        {
            var now = Stopwatch.GetTimestamp();
            _available = Math.Min(burst, _available + (Stopwatch.GetElapsedTime(_last, now).TotalSeconds * perMinute / 60));
            _last = now;
            return _available >= amount ? 0 : (amount - _available) / (perMinute / 60.0);
        }

        public void Take(int amount) => _available -= amount;

        /// <summary>What the bucket holds after the last refill.</summary>
        public double Available => _available;

        /// <summary>Seconds until the bucket is full again (OpenAI's reset: back to its initial state).</summary>
        public double SecondsToFull => Math.Max(0, burst - _available) / (perMinute / 60.0);
    }
}
