using System.Text;
using System.Text.Json;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>Jobs for end-to-end runs: short and long texts, raw and base64, two collections, and invalid ones.</summary>
internal static class JobCorpus
{
    public sealed record GoodJob(string Id, string Collection, string Text, string Body, bool Long);

    public sealed record BadJob(string Body, string ExpectedReason);

    public static List<GoodJob> Good(int count, string defaultCollection, string otherCollection)
    {
        var jobs = new List<GoodJob>(count);
        for (var i = 0; i < count; i++)
        {
            var id = $"doc-{i:D4}";
            var isLong = i % 10 == 0;
            var text = isLong ? LongText(i) : $"Document {i} describes pump model P{i} and its maintenance interval of {i % 12 + 1} months.";
            var collection = i % 7 == 0 ? otherCollection : defaultCollection;
            var json = JsonSerializer.Serialize(new
            {
                id,
                text,
                title = $"Title {i}",
                collection = collection == defaultCollection ? null : collection,
                metadata = new { lang = i % 2 == 0 ? "de" : "en", tags = new[] { "e2e", $"n{i % 3}" }, rank = i },
                version = i,
            });
            var body = i % 3 == 0 ? Convert.ToBase64String(Encoding.UTF8.GetBytes(json)) : json;
            jobs.Add(new GoodJob(id, collection, text, body, isLong));
        }
        return jobs;
    }

    /// <summary>The hostile corpus (<see cref="HostileMessages"/>): every one must be poisoned with its reason.</summary>
    public static List<BadJob> Bad() => [.. HostileMessages.All.Select(h => new BadJob(h.Body, h.ExpectedReason))];

    /// <summary>A valid job just under the 64 KiB queue message limit: stored in full, in many chunks.</summary>
    public static GoodJob AtSizeLimit(string collection)
    {
        var builder = new StringBuilder();
        for (var i = 0; builder.Length < 62_000; i++)
        {
            builder.Append($"Sentence {i} names part P{i} of the pump. ");
            if (i % 20 == 19)
            {
                builder.Append("\n\n");
            }
        }
        var text = builder.ToString();
        var body = JsonSerializer.Serialize(new { id = "at-size-limit", text, metadata = new { size = "limit" } });
        return new GoodJob("at-size-limit", collection, text, body, Long: true);
    }

    private static string LongText(int seed)
    {
        var builder = new StringBuilder();
        for (var p = 0; p < 6; p++)
        {
            for (var s = 0; s < 5; s++)
            {
                builder.Append($"Paragraph {p} sentence {s} of document {seed} explains step {p * 5 + s} in detail. ");
            }
            builder.Append("\n\n");
        }
        return builder.ToString();
    }
}
