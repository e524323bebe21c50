using System.Text;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Tokens;

namespace Stackit.EmbeddingWorker.Tests.Preparation;

public sealed class TextChunkerTests
{
    private static readonly CalibratedTokenEstimator Estimator = new(new TokenCalibration(margin: 0));

    private static TextChunker Chunker(int max, int overlap) => new(new ChunkingOptions { MaxChunkTokens = max, OverlapTokens = overlap }, Estimator);

    [Fact]
    public void A_long_run_without_boundaries_is_cut_in_linear_work()
    {
        // A million characters of base64-like text without a space: before, every cut searched the whole rest of the
        // text, estimating hundreds of times its length in all (16 Mi characters took seconds, 256 MiB minutes).
        var text = new string(Enumerable.Range(0, 1_000_000).Select(i => (char)('a' + (i * 7 % 26))).ToArray());
        var counting = new CountingEstimator(Estimator);
        var chunker = new TextChunker(new ChunkingOptions { MaxChunkTokens = 512, OverlapTokens = 0 }, counting);

        var chunks = chunker.Chunk(text);

        Assert.Equal(text, string.Concat(chunks));
        Assert.All(chunks, c => Assert.InRange(Estimator.Estimate(c), 1, 512));
        TestContext.Current.TestOutputHelper?.WriteLine($"estimated {counting.Characters} characters for {text.Length} ({(double)counting.Characters / text.Length:F1} per character)");
        Assert.InRange(counting.Characters, text.Length, 64L * text.Length);
    }

    [Fact]
    public void Estimated_chunks_are_cut_the_estimate_s_margin_short_of_the_limit_and_exact_ones_at_it()
    {
        // An estimate learned from whole requests can be short for one denser chunk; an exact count cannot.
        var text = string.Join(" ", Enumerable.Range(0, 2_000).Select(i => $"word{i}"));
        var estimated = new CalibratedTokenEstimator(new TokenCalibration(margin: 0.1));
        var exact = new CountingEstimator(estimated);

        var cut = new TextChunker(new ChunkingOptions { MaxChunkTokens = 512, OverlapTokens = 0 }, estimated).Chunk(text);
        var cutExactly = new TextChunker(new ChunkingOptions { MaxChunkTokens = 512, OverlapTokens = 0 }, exact).Chunk(text);

        Assert.Equal(0.1, estimated.Headroom);
        Assert.All(cut, c => Assert.InRange(estimated.Estimate(c), 1, (int)(512 / 1.1)));
        Assert.All(cutExactly, c => Assert.InRange(estimated.Estimate(c), 1, 512));
        Assert.True(cut.Count > cutExactly.Count, $"{cut.Count} chunks cut short of the limit, {cutExactly.Count} at it");
        Assert.True(cut.Max(c => estimated.Estimate(c)) < cutExactly.Max(c => estimated.Estimate(c)));
    }

    [Fact]
    public void A_chunk_of_many_small_pieces_is_filled_to_its_limit_since_the_estimate_s_marker_is_counted_once()
    {
        // Words without a sentence boundary become a piece each; each piece's estimate includes the marker the
        // endpoint adds to an input. Summed per piece, those markers left such chunks a quarter short (349 of 465).
        var text = string.Join(" ", Enumerable.Range(0, 2_000).Select(i => $"word{i}"));

        var chunks = Chunker(512, 0).Chunk(text);

        Assert.Equal(text, string.Join(" ", chunks));
        Assert.All(chunks.SkipLast(1), c => Assert.InRange(Estimator.Estimate(c), 500, 512));
    }

    [Fact]
    public void Short_text_is_one_chunk()
    {
        Assert.Equal(["Ein kurzer Text."], Chunker(64, 8).Chunk("  Ein kurzer Text.  "));
    }

    [Fact]
    public void Long_text_is_cut_into_chunks_within_the_limit_that_keep_every_word_in_order()
    {
        var words = Enumerable.Range(0, 600).Select(i => $"word{i}").ToList();
        var text = new StringBuilder();
        for (var i = 0; i < words.Count; i++)
        {
            text.Append(words[i]).Append(i % 17 == 16 ? ". " : " ");
            if (i % 90 == 89)
            {
                text.Append("\n\n");
            }
        }

        var chunks = Chunker(64, 0).Chunk(text.ToString());

        Assert.True(chunks.Count > 5);
        Assert.All(chunks, c => Assert.InRange(Estimator.Estimate(c), 1, 64));
        var rejoined = string.Join(" ", chunks).Split([' ', '\n', '.'], StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(words, rejoined);
    }

    [Fact]
    public void Consecutive_chunks_overlap_by_at_most_the_overlap_budget()
    {
        var text = string.Join(" ", Enumerable.Range(0, 400).Select(i => $"Sentence number {i} ends here."));

        var chunks = Chunker(48, 12).Chunk(text);

        for (var i = 1; i < chunks.Count; i++)
        {
            var firstSentence = chunks[i].Split(". ")[0];
            Assert.Contains(firstSentence, chunks[i - 1], StringComparison.Ordinal);
        }
        Assert.All(chunks, c => Assert.InRange(Estimator.Estimate(c), 1, 48));
    }

    [Fact]
    public void Paragraph_boundaries_are_preferred_over_sentence_boundaries()
    {
        var paragraph = string.Join(" ", Enumerable.Repeat("Kurzer Satz hier.", 8));
        var text = paragraph + "\n\n" + paragraph.Replace("Kurzer", "Zweiter", StringComparison.Ordinal);

        var chunks = Chunker(Estimator.Estimate(paragraph) + 4, 0).Chunk(text);

        Assert.Equal(2, chunks.Count);
        Assert.Equal(paragraph, chunks[0]);
    }

    [Fact]
    public void A_run_without_boundaries_is_cut_by_length_and_nothing_is_lost()
    {
        var blob = new string('x', 5_000);

        var chunks = Chunker(100, 0).Chunk(blob);

        Assert.All(chunks, c => Assert.InRange(Estimator.Estimate(c), 1, 100));
        Assert.Equal(blob, string.Concat(chunks));
    }

    [Fact]
    public void Surrogate_pairs_are_never_split()
    {
        var emoji = string.Concat(Enumerable.Repeat("😀", 2_000));

        var chunks = Chunker(64, 0).Chunk(emoji);

        Assert.Equal(emoji, string.Concat(chunks));
        Assert.All(chunks, c => Assert.False(char.IsHighSurrogate(c[^1])));
    }

    /// <summary>Counts the characters it is asked to estimate: the chunker's work, without timing it.</summary>
    private sealed class CountingEstimator(ITokenEstimator inner) : ITokenEstimator
    {
        public long Characters { get; private set; }

        public int Estimate(ReadOnlySpan<char> text)
        {
            Characters += text.Length;
            return inner.Estimate(text);
        }
    }
}
