using System.Text;

namespace Stackit.EmbeddingWorker.Preparation;

/// <summary>
/// Cuts a text into chunks of at most <c>MaxChunkTokens</c> estimated tokens, preferring paragraph, then
/// line, sentence, clause and word boundaries, and starting each chunk with up to <c>OverlapTokens</c> of
/// the previous one's end. No text is dropped or truncated.
/// </summary>
internal sealed class TextChunker(ChunkingOptions options, ITokenEstimator estimator)
{
    private static readonly string[] Boundaries = ["\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " "];

    public IReadOnlyList<string> Chunk(string text)
    {
        if (estimator.Estimate(text) <= options.MaxChunkTokens)
        {
            return string.IsNullOrWhiteSpace(text) ? [] : [text.Trim()];
        }
        var pieces = new List<Piece>();
        Split(text, 0, pieces);
        return Pack(pieces);
    }

    private void Split(string text, int level, List<Piece> pieces)
    {
        var tokens = estimator.Estimate(text);
        if (tokens <= options.MaxChunkTokens)
        {
            pieces.Add(new Piece(text, tokens));
            return;
        }
        if (level == Boundaries.Length)
        {
            HardSplit(text, pieces);
            return;
        }
        foreach (var part in SplitAfter(text, Boundaries[level]))
        {
            Split(part, level + 1, pieces);
        }
    }

    /// <summary>A run without any boundary (a long token, base64, a URL): cut by length.</summary>
    private void HardSplit(string text, List<Piece> pieces)
    {
        var start = 0;
        while (start < text.Length)
        {
            var length = Math.Min(text.Length - start, Math.Max(1, options.MaxChunkTokens * Utf8LengthTokenEstimator.BytesPerToken / 4));
            while (length > 1 && estimator.Estimate(text.AsSpan(start, length)) > options.MaxChunkTokens)
            {
                length /= 2;
            }
            if (char.IsHighSurrogate(text[start + length - 1]) && start + length < text.Length)
            {
                length++;
            }
            var piece = text.Substring(start, length);
            pieces.Add(new Piece(piece, estimator.Estimate(piece)));
            start += length;
        }
    }

    private static IEnumerable<string> SplitAfter(string text, string separator)
    {
        var start = 0;
        while (start < text.Length)
        {
            var at = text.IndexOf(separator, start, StringComparison.Ordinal);
            var end = at < 0 ? text.Length : at + separator.Length;
            yield return text[start..end];
            start = end;
        }
    }

    private List<string> Pack(List<Piece> pieces)
    {
        var chunks = new List<string>();
        var current = new List<Piece>();
        var currentTokens = 0;
        foreach (var piece in pieces)
        {
            if (current.Count > 0 && currentTokens + piece.Tokens > options.MaxChunkTokens)
            {
                Emit(chunks, current);
                (current, currentTokens) = Overlap(current, piece.Tokens);
            }
            current.Add(piece);
            currentTokens += piece.Tokens;
        }
        Emit(chunks, current);
        return chunks;
    }

    private (List<Piece> Kept, int Tokens) Overlap(List<Piece> previous, int nextTokens)
    {
        var kept = new List<Piece>();
        var tokens = 0;
        for (var i = previous.Count - 1; i >= 0; i--)
        {
            var candidate = tokens + previous[i].Tokens;
            if (candidate > options.OverlapTokens || candidate + nextTokens > options.MaxChunkTokens)
            {
                break;
            }
            kept.Insert(0, previous[i]);
            tokens = candidate;
        }
        return (kept, tokens);
    }

    private static void Emit(List<string> chunks, List<Piece> pieces)
    {
        var builder = new StringBuilder();
        foreach (var piece in pieces)
        {
            builder.Append(piece.Text);
        }
        var chunk = builder.ToString().Trim();
        if (chunk.Length > 0)
        {
            chunks.Add(chunk);
        }
    }

    private readonly record struct Piece(string Text, int Tokens);
}
