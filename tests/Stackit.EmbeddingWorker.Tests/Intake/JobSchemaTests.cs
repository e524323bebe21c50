using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Tests.EndToEnd;

namespace Stackit.EmbeddingWorker.Tests.Intake;

/// <summary>
/// docs/job.schema.json is the job contract as a schema; these tests hold it and the parser to the same answers,
/// so neither can drift. Where a rule is beyond what a schema can state, the parser's reason must be one of
/// the rules the schema's description names.
/// </summary>
public sealed class JobSchemaTests
{
    private static readonly JobMessageParser Parser = new("documents", new HashSet<string>(["manuals"]), "documents_multimodal");

    private static readonly JsonSchema Schema = JsonSchema.FromFile(Path.Combine(RepositoryPaths.Root, "docs", "job.schema.json"));

    /// <summary>Parser reasons for rules a JSON Schema cannot express (listed in the schema's description).</summary>
    private static readonly string[] BeyondTheSchema =
    [
        "appears more than once", "nested too deep", "not in Qdrant:AllowedCollections", "not valid Unicode",
        "not valid base64", "without a fraction or exponent", "must be a whole number",
    ];

    public static TheoryData<string> ValidJobs =>
    [
        """{"id":"manual-42","text":"Die Pumpe P7 wird alle sechs Monate gewartet."}""",
        """{"id":"manual-42","op":"upsert","text":"…","title":"Wartungshandbuch P7","metadata":{"lang":"de","tags":["pumps"]},"collection":"manuals","version":17}""",
        """{"id":"manual-42","op":"delete"}""",
        """{"id":"manual-42","op":"delete","version":9007199254740991}""",
        """{"id":"img-1","images":["data:image/png;base64,aGVsbG8="]}""",
        """{"id":"img-2","text":"caption","images":["data:image/jpeg;base64,aGVsbG8="],"collection":"documents_multimodal"}""",
        """{"id":"x","text":"y","unknown":"ignored"}""",
        """{"id":"manual-42","blobUri":"https://account.blob.core.windows.net/embedding-jobs/manual-42.json"}""",
    ];

    public static TheoryData<string> HostileNames => [.. HostileMessages.All.Where(h => AsJson(h.Body) is not null).Select(h => h.Name)];

    [Theory]
    [MemberData(nameof(ValidJobs))]
    public void A_job_the_schema_accepts_the_parser_accepts(string body)
    {
        Assert.True(Schema.Evaluate(AsJson(body)).IsValid, "the schema refuses it");
        var parsed = Parser.Parse(Encoding.UTF8.GetBytes(body));
        Assert.True(parsed.IsValid || parsed.IsClaimCheck, parsed.Error);
    }

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void A_job_the_parser_refuses_the_schema_refuses_unless_the_rule_is_beyond_a_schema(string name)
    {
        var hostile = HostileMessages.All.Single(h => h.Name == name);
        var parsed = Parser.Parse(Encoding.UTF8.GetBytes(hostile.Body));
        Assert.False(parsed.IsValid);

        if (SchemaAccepts(hostile.Body) is not false)
        {
            // Accepted, or JSON the schema's data model cannot even hold (duplicate keys, lone surrogates, 1e40).
            Assert.Contains(BeyondTheSchema, rule => parsed.Error!.Contains(rule, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_schema_states_the_parsers_limits()
    {
        var job = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "job.schema.json")))!["$defs"]!;
        Assert.Equal(JobMessageParser.MaxIdLength, job["id"]!["maxLength"]!.GetValue<int>());
        Assert.Equal(JobFieldReader.MaxVersion, job["job"]!["properties"]!["version"]!["maximum"]!.GetValue<long>());
        Assert.Equal(JobFieldReader.MaxImages, job["job"]!["properties"]!["images"]!["maxItems"]!.GetValue<int>());
        Assert.Equal(CollectionRouting.NamePattern, job["job"]!["properties"]!["collection"]!["pattern"]!.GetValue<string>());
    }

    private static bool? SchemaAccepts(string body)
    {
        try
        {
            return Schema.Evaluate(AsJson(body)).IsValid;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The body as JSON, or null when it is not JSON as it stands (base64, broken, too deep to read).</summary>
    private static JsonNode? AsJson(string body)
    {
        try
        {
            return JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
