using Stackit.EmbeddingWorker.Tokens;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// Cuts a text into chunks of at most <c>MaxChunkTokens</c> estimated tokens (less the estimator's
/// <see cref="ITokenEstimator.Headroom"/>, so that no chunk is over the limit in real tokens), preferring paragraph, then
/// line, sentence, clause and word boundaries, and starting each chunk with up to <c>OverlapTokens</c> of
/// the previous one's end. No text is dropped or truncated.
/// </summary>
internal sealed class TextChunker(ChunkingOptions options, ITokenEstimator estimator)
{
    private static readonly string[] Boundaries = ["\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " "];

    public IReadOnlyList<string> Chunk(string text) => Chunk(text, options.MaxChunkTokens);

    /// <summary>Chunks to a smaller size than configured (the overlap shrinks in proportion).</summary>
    public IReadOnlyList<string> Chunk(string text, int maxTokens)
    {
        var limits = new Limits(Math.Max(1, (int)(Math.Clamp(maxTokens, 1, options.MaxChunkTokens) / (1 + estimator.Headroom))), (int)((long)options.OverlapTokens * maxTokens / options.MaxChunkTokens));
        if (estimator.Estimate(text) <= limits.MaxTokens)
        {
            return string.IsNullOrWhiteSpace(text) ? [] : [text.Trim()];
        }
        // Pieces are ranges of the text, in order and without gaps, so a chunk is one range too: the text is
        // copied once, into the chunks, however deep the splitting goes.
        var pieces = new List<Piece>();
        Split(text, 0, text.Length, 0, limits, pieces);
        return Pack(text, pieces, limits);
    }

    private void Split(string text, int start, int length, int level, Limits limits, List<Piece> pieces)
    {
        var tokens = estimator.Estimate(text.AsSpan(start, length));
        if (tokens <= limits.MaxTokens)
        {
            pieces.Add(new Piece(start, length, tokens));
            return;
        }
        if (level == Boundaries.Length)
        {
            HardSplit(text, start, length, limits, pieces);
            return;
        }
        var separator = Boundaries[level];
        var end = start + length;
        while (start < end)
        {
            var at = text.AsSpan(start, end - start).IndexOf(separator, StringComparison.Ordinal);
            var partEnd = at < 0 ? end : start + at + separator.Length;
            Split(text, start, partEnd - start, level + 1, limits, pieces);
            start = partEnd;
        }
    }

    /// <summary>A run without any boundary (a long token, base64, a URL): cut at the longest prefix that fits.</summary>
    private void HardSplit(string text, int start, int length, Limits limits, List<Piece> pieces)
    {
        var end = start + length;
        while (start < end)
        {
            var fitting = LongestFittingPrefix(text.AsSpan(start, end - start), limits.MaxTokens);
            if (char.IsHighSurrogate(text[start + fitting - 1]) && start + fitting < end)
            {
                fitting = fitting > 1 ? fitting - 1 : fitting + 1;
            }
            pieces.Add(new Piece(start, fitting, estimator.Estimate(text.AsSpan(start, fitting))));
            start += fitting;
        }
    }

    /// <summary>
    /// Estimates grow with length: the window doubles from <paramref name="maxTokens"/> characters until it no longer
    /// fits, then a binary search finds the cut inside it. Each cut costs about its own length, never the remaining
    /// text's, so a run of millions of characters is cut in linear time. At least one character, so the cut always advances.
    /// </summary>
    private int LongestFittingPrefix(ReadOnlySpan<char> text, int maxTokens)
    {
        var low = 1;
        var high = Math.Min(text.Length, Math.Max(2, maxTokens));
        while (high < text.Length && estimator.Estimate(text[..high]) <= maxTokens)
        {
            low = high;
            high = (int)Math.Min(text.Length, 2L * high);
        }
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            if (estimator.Estimate(text[..middle]) <= maxTokens)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }
        return low;
    }

    private static List<string> Pack(string text, List<Piece> pieces, Limits limits)
    {
        var chunks = new List<string>();
        var first = 0;
        var currentTokens = 0;
        for (var i = 0; i < pieces.Count; i++)
        {
            var piece = pieces[i];
            if (i > first && currentTokens + piece.Tokens > limits.MaxTokens)
            {
                Emit(text, chunks, pieces[first], pieces[i - 1]);
                (first, currentTokens) = Overlap(pieces, first, i, piece.Tokens, limits);
            }
            currentTokens += piece.Tokens;
        }
        Emit(text, chunks, pieces[first], pieces[^1]);
        return chunks;
    }

    /// <summary>
    /// Where the next chunk starts: the trailing pieces of the last one (from <paramref name="first"/> to before
    /// <paramref name="next"/>) that fit the overlap and still leave room for the next piece.
    /// </summary>
    private static (int First, int Tokens) Overlap(List<Piece> pieces, int first, int next, int nextTokens, Limits limits)
    {
        var start = next;
        var tokens = 0;
        for (var i = next - 1; i >= first; i--)
        {
            var candidate = tokens + pieces[i].Tokens;
            if (candidate > limits.OverlapTokens || candidate + nextTokens > limits.MaxTokens)
            {
                break;
            }
            start = i;
            tokens = candidate;
        }
        return (start, tokens);
    }

    private static void Emit(string text, List<string> chunks, Piece first, Piece last)
    {
        var chunk = text.AsSpan(first.Start, last.Start + last.Length - first.Start).Trim();
        if (!chunk.IsEmpty)
        {
            chunks.Add(chunk.ToString());
        }
    }

    private readonly record struct Piece(int Start, int Length, int Tokens);

    private readonly record struct Limits(int MaxTokens, int OverlapTokens);
}
