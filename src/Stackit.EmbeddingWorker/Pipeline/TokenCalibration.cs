namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// Learns how many tokens the endpoint counts per UTF-8 byte for one model, from each response's
/// <c>usage.prompt_tokens</c>. It starts at a conservative ratio and then follows the highest ratio seen in
/// the recent window, plus a margin, so estimates converge to the real count from above: never under it
/// for text like the text seen, never over it by more than the margin. Thread-safe.
/// </summary>
internal sealed class TokenCalibration
{
    /// <summary>Tokens the endpoint adds to every input (a begin- or end-of-sequence marker).</summary>
    public const int TokensPerInput = 1;

    /// <summary>Before any answer: three bytes a token, tighter than any Latin-script tokenizer.</summary>
    public const double InitialTokensPerByte = 1.0 / 3;

    /// <summary>No tokenizer makes more than a token of a byte; caps what a refusal can teach.</summary>
    public const double MaxTokensPerByte = 1.0;

    // Small requests are noisy; observations are pooled until a sample is this large.
    internal const long SampleBytes = 16 * 1024;
    internal const int WindowSamples = 16;

    private readonly Lock _gate = new();
    private readonly double[] _window = new double[WindowSamples];
    private readonly double _margin;
    private int _samples;
    private long _pendingBytes;
    private long _pendingTokens;
    private double _tokensPerByte = InitialTokensPerByte;

    public TokenCalibration(double margin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(margin);
        _margin = margin;
    }

    /// <summary>The ratio estimates use now, margin included.</summary>
    public double TokensPerByte => Volatile.Read(ref _tokensPerByte);

    public bool IsCalibrated => Volatile.Read(ref _samples) > 0;

    /// <summary>A conservative token count for a text of <paramref name="utf8Bytes"/> bytes.</summary>
    public int Estimate(int utf8Bytes) => (int)Math.Ceiling(utf8Bytes * TokensPerByte) + TokensPerInput;

    /// <summary>Records a successful request: its inputs' total UTF-8 length and the tokens the server counted.</summary>
    public void Observe(long utf8Bytes, int inputs, int promptTokens)
    {
        var textTokens = promptTokens - ((long)inputs * TokensPerInput);
        if (utf8Bytes <= 0 || textTokens <= 0)
        {
            return;
        }
        lock (_gate)
        {
            _pendingBytes += utf8Bytes;
            _pendingTokens += textTokens;
            if (_pendingBytes < SampleBytes)
            {
                return;
            }
            AddSample((double)_pendingTokens / _pendingBytes);
            _pendingBytes = 0;
            _pendingTokens = 0;
        }
    }

    /// <summary>
    /// Records an input the server refused as too long: <paramref name="countedTokens"/> long when the server
    /// said so, else longer than the configured <paramref name="limit"/>. The same text is not estimated to fit
    /// again (unless the server's real limit is below the configured one, which re-chunking absorbs).
    /// </summary>
    public void ObserveTooLong(int utf8Bytes, int limit, int? countedTokens)
    {
        if (utf8Bytes <= 0)
        {
            return;
        }
        var tokens = (countedTokens ?? (limit + 1)) - TokensPerInput;
        lock (_gate)
        {
            AddSample(Math.Min(MaxTokensPerByte, (double)tokens / utf8Bytes));
        }
    }

    private void AddSample(double ratio)
    {
        _window[_samples % WindowSamples] = ratio;
        _samples++;
        var highest = 0.0;
        foreach (var sample in _window.AsSpan(0, Math.Min(_samples, WindowSamples)))
        {
            highest = Math.Max(highest, sample);
        }
        Volatile.Write(ref _tokensPerByte, highest * (1 + _margin));
    }
}
