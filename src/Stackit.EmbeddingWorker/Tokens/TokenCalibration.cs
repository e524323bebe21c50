namespace Stackit.EmbeddingWorker.Tokens;

/// <summary>
/// Learns how many tokens the endpoint counts per UTF-8 byte for one model, from each response's
/// <c>usage.prompt_tokens</c>, separately for ASCII, for Hangul and for the letters of other scripts
/// (<see cref="ScriptBytes"/>): Chinese or Japanese text costs about half again as many tokens a byte as English with
/// Mistral's tokenizer, and Korean half again as many as Chinese; one ratio for all under-counts the densest while the
/// others dominate. Symbols and emoji are counted at a token a byte, the most a byte-fallback tokenizer spends. Each
/// ratio starts at a conservative value and then follows the highest ratio seen in its recent window, plus a margin,
/// so estimates converge to the real count from above: never under it for text like the text seen, never over it by
/// more than the margin. Thread-safe.
/// </summary>
/// <remarks>
/// The endpoint counts whole requests, not inputs, so a request's tokens are attributed by what it mostly holds:
/// requests with less than <see cref="LetterShare"/> of non-ASCII letter bytes teach the ASCII ratio (their few
/// letters counted as ASCII, which errs high); the others teach the ratio of the kind of letters they mostly hold
/// (Hangul where other letters are less than that share of the letters, else the other letters), after the rest is
/// taken off at the lowest ratio seen of each kind (which errs high again). Symbols are taken off first at the least
/// they can cost, a token a character (which errs high as well).
/// </remarks>
internal sealed class TokenCalibration
{
    /// <summary>Tokens the endpoint adds to every input (a begin- or end-of-sequence marker).</summary>
    public const int TokensPerInput = 1;

    /// <summary>
    /// A text's tokens at one ratio for all its bytes, with the marker the endpoint adds: how the helper commands count
    /// stored chunks (at a sample's ratio, or at <see cref="InitialTokensPerByte"/>, an upper bound).
    /// </summary>
    public static long AtRatio(string text, double tokensPerByte) =>
        (long)Math.Ceiling(System.Text.Encoding.UTF8.GetByteCount(text) * tokensPerByte) + TokensPerInput;

    /// <summary>
    /// ASCII before any answer: three bytes a token. English runs at about four bytes a token; German and French at
    /// 2.7–3.1 with Mistral's tokenizer, so until the first sample (16 KiB of answered text) their estimates can be up
    /// to a tenth short: a chunk the endpoint then refuses as too long is cut again at half the size.
    /// </summary>
    public const double InitialTokensPerByte = 1.0 / 3;

    /// <summary>No tokenizer makes more than a token of a byte: where letters and Hangul start, what symbols cost, and the cap on what a sample teaches.</summary>
    public const double MaxTokensPerByte = 1.0;

    /// <summary>The share of a kind's bytes from which a request teaches that kind's ratio.</summary>
    public const double LetterShare = 0.2;

    /// <summary>What a symbol byte is taken off a sample at: a token a character at least, and none is over four bytes.</summary>
    private const double SymbolFloor = 0.25;

    /// <summary>What a kind is taken off another's sample at before its own first sample: below any tokenizer's.</summary>
    private const double Floor = 0.2;

    // Small requests are noisy; observations are pooled until a sample is this large.
    internal const long SampleBytes = 16 * 1024;
    internal const int WindowSamples = 16;

    private readonly Lock _gate = new();
    private readonly Window _ascii;
    private readonly Window _letters;
    private readonly Window _hangul;

    public TokenCalibration(double margin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(margin);
        Margin = margin;
        _ascii = new Window(InitialTokensPerByte, margin);
        _letters = new Window(MaxTokensPerByte, margin);
        _hangul = new Window(MaxTokensPerByte, margin);
    }

    /// <summary>How far above the highest ratio seen estimates stay (<c>Embeddings:TokenEstimateMargin</c>).</summary>
    public double Margin { get; }

    /// <summary>The ratio ASCII text is estimated at now, margin included.</summary>
    public double TokensPerByte => _ascii.Ratio;

    /// <summary>The ratio the letters of other scripts (Hangul aside) are estimated at now, margin included.</summary>
    public double LetterTokensPerByte => _letters.Ratio;

    /// <summary>The ratio Hangul is estimated at now, margin included.</summary>
    public double HangulTokensPerByte => _hangul.Ratio;

    public bool IsCalibrated => _ascii.HasSamples || _letters.HasSamples || _hangul.HasSamples;

    /// <summary>A conservative token count for an ASCII text of <paramref name="utf8Bytes"/> bytes.</summary>
    public int Estimate(int utf8Bytes) => Estimate(new ScriptBytes(utf8Bytes, 0, 0));

    /// <summary>A conservative token count for a text of these bytes.</summary>
    public int Estimate(ScriptBytes bytes) =>
        (int)Math.Ceiling((bytes.Ascii * _ascii.Ratio) + (bytes.Letters * _letters.Ratio) + (bytes.Hangul * _hangul.Ratio) + (bytes.Symbols * MaxTokensPerByte)) + TokensPerInput;

    /// <summary>Records a successful request: its inputs' bytes and the tokens the server counted.</summary>
    public void Observe(ScriptBytes bytes, int inputs, int promptTokens)
    {
        var tokens = promptTokens - ((long)inputs * TokensPerInput) - (bytes.Symbols * SymbolFloor);
        if (bytes.Ascii + bytes.Letters + bytes.Hangul <= 0 || tokens <= 0)
        {
            return;
        }
        lock (_gate)
        {
            var (window, kindBytes, kindTokens) = Attribute(bytes, tokens);
            window.Pool(kindBytes, kindTokens);
        }
    }

    /// <summary>Records a successful request of ASCII text: its inputs' total UTF-8 length and the tokens the server counted.</summary>
    public void Observe(long utf8Bytes, int inputs, int promptTokens) => Observe(new ScriptBytes((int)utf8Bytes, 0, 0), inputs, promptTokens);

    /// <summary>
    /// Records an input the server refused as too long: <paramref name="countedTokens"/> long when the server
    /// said so, else longer than the configured <paramref name="limit"/>. The same text is not estimated to fit
    /// again (unless the server's real limit is below the configured one, which re-chunking absorbs).
    /// </summary>
    public void ObserveTooLong(ScriptBytes bytes, int limit, int? countedTokens)
    {
        var tokens = (countedTokens ?? (limit + 1)) - TokensPerInput - (bytes.Symbols * SymbolFloor);
        if (bytes.Ascii + bytes.Letters + bytes.Hangul <= 0)
        {
            return;
        }
        lock (_gate)
        {
            var (window, kindBytes, kindTokens) = Attribute(bytes, tokens);
            window.Add(Math.Min(MaxTokensPerByte, kindTokens / kindBytes));
        }
    }

    /// <summary>As <see cref="ObserveTooLong(ScriptBytes, int, int?)"/>, for an ASCII text.</summary>
    public void ObserveTooLong(int utf8Bytes, int limit, int? countedTokens) => ObserveTooLong(new ScriptBytes(utf8Bytes, 0, 0), limit, countedTokens);

    /// <summary>Which ratio a count teaches, and the bytes and tokens it teaches it. Called under the lock.</summary>
    private (Window Window, long Bytes, double Tokens) Attribute(ScriptBytes bytes, double tokens)
    {
        long otherLetters = bytes.Letters + bytes.Hangul;
        if (otherLetters < LetterShare * (bytes.Ascii + otherLetters))
        {
            return (_ascii, bytes.Ascii + otherLetters, tokens);
        }
        var ascii = bytes.Ascii * _ascii.Lowest(Floor);
        return bytes.Letters < LetterShare * otherLetters
            ? (_hangul, bytes.Hangul, Math.Max(0, tokens - ascii - (bytes.Letters * _letters.Lowest(Floor))))
            : (_letters, bytes.Letters, Math.Max(0, tokens - ascii - (bytes.Hangul * _hangul.Lowest(Floor))));
    }

    /// <summary>The recent samples of one ratio; estimates use the highest, plus the margin.</summary>
    private sealed class Window(double initial, double margin)
    {
        private readonly double[] _samples = new double[WindowSamples];
        private int _count;
        private double _ratio = initial;
        private long _pendingBytes;
        private double _pendingTokens;

        public double Ratio => Volatile.Read(ref _ratio);

        public bool HasSamples => Volatile.Read(ref _count) > 0;

        /// <summary>The lowest recent sample, or <paramref name="none"/> before the first. Called under the calibration's lock.</summary>
        public double Lowest(double none) => _count == 0 ? none : _samples.AsSpan(0, Math.Min(_count, WindowSamples)).ToArray().Min();

        /// <summary>Pools an observation until it makes a sample of <see cref="SampleBytes"/>. Called under the calibration's lock.</summary>
        public void Pool(long bytes, double tokens)
        {
            _pendingBytes += bytes;
            _pendingTokens += tokens;
            if (_pendingBytes >= SampleBytes)
            {
                Add(Math.Min(MaxTokensPerByte, _pendingTokens / _pendingBytes));
                (_pendingBytes, _pendingTokens) = (0, 0);
            }
        }

        /// <summary>Called under the calibration's lock.</summary>
        public void Add(double ratio)
        {
            _samples[_count % WindowSamples] = ratio;
            Volatile.Write(ref _count, _count + 1);
            var highest = 0.0;
            foreach (var sample in _samples.AsSpan(0, Math.Min(_count, WindowSamples)))
            {
                highest = Math.Max(highest, sample);
            }
            Volatile.Write(ref _ratio, highest * (1 + margin));
        }
    }
}
