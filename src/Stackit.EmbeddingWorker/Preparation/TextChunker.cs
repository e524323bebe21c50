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
        var limits = new Limits(
            Math.Max(1, (int)(Math.Clamp(maxTokens, 1, options.MaxChunkTokens) / (1 + estimator.Headroom))),
            (int)((long)options.OverlapTokens * maxTokens / options.MaxChunkTokens),
            Math.Max(0, estimator.Estimate(ReadOnlySpan<char>.Empty)));
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
            pieces.Add(new Piece(start, length, limits.Content(tokens)));
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
            pieces.Add(new Piece(start, fitting, limits.Content(estimator.Estimate(text.AsSpan(start, fitting)))));
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

    /// <summary>
    /// Packs consecutive pieces into chunks. A piece counts without the markers every estimate includes
    /// (<see cref="Limits.Overhead"/>), which a chunk carries once. Each chunk is then estimated whole: it gives
    /// pieces back from its end while it is over the limit (an estimate need not be subadditive: a tokenizer can
    /// merge across a boundary differently) and takes more while they fit, so a chunk of many small pieces is not cut
    /// short by a marker and a rounding for each. Each chunk after the first starts with the trailing pieces of the
    /// last one that fit the overlap, and always ends further on than the last one did.
    /// </summary>
    private List<string> Pack(string text, List<Piece> pieces, Limits limits)
    {
        var chunks = new List<string>();
        var room = limits.MaxTokens - limits.Overhead;
        var first = 0;
        var previousEnd = -1;
        while (true)
        {
            var end = first;
            var tokens = pieces[first].Tokens;
            while (end + 1 < pieces.Count && tokens + pieces[end + 1].Tokens <= room)
            {
                end++;
                tokens += pieces[end].Tokens;
            }
            while (end > first && !Fits(text, pieces[first], pieces[end], limits))
            {
                end--;
            }
            end = Furthest(text, pieces, first, end, limits);
            if (end <= previousEnd)
            {
                // Counted whole, the overlap left no room for anything new: this chunk starts after the last one.
                first = previousEnd + 1;
                continue;
            }
            Emit(text, chunks, pieces[first], pieces[end]);
            if (end == pieces.Count - 1)
            {
                return chunks;
            }
            previousEnd = end;
            first = Overlap(pieces, first, end + 1, room, limits.OverlapTokens);
        }
    }

    /// <summary>
    /// Summed piece by piece, estimates round up once a piece: the chunk from <paramref name="first"/> to
    /// <paramref name="end"/> (which fits) may still have room, counted whole. Its furthest end that fits, found
    /// by doubling and halving the step, so a chunk costs a few estimates of its length however many pieces it has.
    /// </summary>
    private int Furthest(string text, List<Piece> pieces, int first, int end, Limits limits)
    {
        var step = 1;
        while (end + step < pieces.Count && Fits(text, pieces[first], pieces[end + step], limits))
        {
            end += step;
            step *= 2;
        }
        for (step /= 2; step > 0; step /= 2)
        {
            if (end + step < pieces.Count && Fits(text, pieces[first], pieces[end + step], limits))
            {
                end += step;
            }
        }
        return end;
    }

    private bool Fits(string text, Piece first, Piece last, Limits limits) =>
        estimator.Estimate(Span(text, first, last)) <= limits.MaxTokens;

    /// <summary>
    /// Where the next chunk starts: the trailing pieces of the last one (from <paramref name="first"/> to before
    /// <paramref name="next"/>) that fit the overlap and still leave room for the next piece.
    /// </summary>
    private static int Overlap(List<Piece> pieces, int first, int next, int room, int overlapTokens)
    {
        var start = next;
        var tokens = 0;
        for (var i = next - 1; i >= first; i--)
        {
            var candidate = tokens + pieces[i].Tokens;
            if (candidate > overlapTokens || candidate + pieces[next].Tokens > room)
            {
                break;
            }
            start = i;
            tokens = candidate;
        }
        return start;
    }

    private static ReadOnlySpan<char> Span(string text, Piece first, Piece last) =>
        text.AsSpan(first.Start, last.Start + last.Length - first.Start);

    private static void Emit(string text, List<string> chunks, Piece first, Piece last)
    {
        var chunk = Span(text, first, last).Trim();
        if (!chunk.IsEmpty)
        {
            chunks.Add(chunk.ToString());
        }
    }

    /// <summary>A range of the text and its tokens without the estimate's markers.</summary>
    private readonly record struct Piece(int Start, int Length, int Tokens);

    /// <summary>The most tokens a chunk may have, of its overlap, and what an estimate counts for any text (its markers).</summary>
    private readonly record struct Limits(int MaxTokens, int OverlapTokens, int Overhead)
    {
        public int Content(int estimate) => Math.Max(0, estimate - Overhead);
    }
}
