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

    public static List<BadJob> Bad() =>
    [
        new("this is not json", "neither JSON nor base64"),
        new("{\"id\": \"x\", \"text\": ", "not valid JSON"),
        new("{\"text\": \"no id\"}", "'id' is required"),
        new("{\"id\": 42, \"text\": \"numeric id\"}", "'id' must be a string"),
        new("{\"id\": \"   \", \"text\": \"blank id\"}", "'id' must not be empty"),
        new("{\"id\": \"no-text\"}", "needs non-empty 'text'"),
        new("{\"id\": \"ws\", \"text\": \"   \\n \"}", "needs non-empty 'text'"),
        new("{\"id\": \"bad-op\", \"op\": \"merge\", \"text\": \"x\"}", "'op' is 'merge'"),
        new("{\"id\": \"coll\", \"collection\": \"secret\", \"text\": \"x\"}", "not in Qdrant:AllowedCollections"),
        new("{\"id\": \"img\", \"images\": [\"http://example.invalid/a.png\"]}", "never fetched"),
        new("{\"id\": \"dup\", \"id\": \"dup2\", \"text\": \"x\"}", "appears more than once"),
        new("[1, 2, 3]", "must be a JSON object"),
    ];

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
