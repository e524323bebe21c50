using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>
/// Mistral-7B's tokenizer as a SentencePiece <c>.model</c> file, the kind an operator gives the worker in
/// <c>Embeddings:TokenizerFile</c>. The model's own file cannot be fetched here, so it is written from the vocabulary
/// and merges that the reference (<see cref="MistralReferenceTokenizer"/>'s npm package) carries: each piece with
/// its id, byte pieces as bytes, and a merged piece scored by its first merge's place in the list (SentencePiece's BPE
/// merges the adjacent pair whose result scores highest). Written into <c>.tools/</c> on first use; nothing of it is
/// kept in the repository. Whether it counts as the reference does is the tests' business, not assumed here.
/// </summary>
public static partial class MistralTokenizerModel
{
    // ModelProto and its parts (google/sentencepiece's sentencepiece_model.proto): the field numbers used here.
    private const int PiecesField = 1, TrainerSpecField = 2, NormalizerSpecField = 3;
    private const int PieceField = 1, ScoreField = 2, TypeField = 3;
    private const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;
    private const int ModelTypeField = 3, VocabSizeField = 4, ByteFallbackField = 35, UnkIdField = 40, BosIdField = 41, EosIdField = 42, PadIdField = 43;
    private const int Bpe = 2;
    private const int NameField = 1, AddDummyPrefixField = 3, RemoveExtraWhitespacesField = 4, EscapeWhitespacesField = 5;

    /// <summary>The path of the model file, written on first use.</summary>
    public static async Task<string> PathAsync()
    {
        var prefix = await NpmTools.InstallAsync(MistralReferenceTokenizer.Package, MistralReferenceTokenizer.Version, MistralReferenceTokenizer.Script);
        var path = System.IO.Path.Combine(prefix, "mistral-7b.model");
        if (!File.Exists(path))
        {
            var source = await File.ReadAllTextAsync(System.IO.Path.Combine(prefix, MistralReferenceTokenizer.Script));
            var temporary = path + $".{Environment.ProcessId}.tmp";
            await File.WriteAllBytesAsync(temporary, Build(source));
            File.Move(temporary, path, overwrite: true);
        }
        return path;
    }

    private static byte[] Build(string source)
    {
        var vocabulary = Encoding.UTF8.GetString(Convert.FromBase64String(Constant(source, "vocab_base64"))).Split('\n');
        var merges = Convert.FromBase64String(Constant(source, "merges_binary"));
        var firstMerge = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i + 3 < merges.Length; i += 4)
        {
            var merged = vocabulary[BitConverter.ToUInt16(merges, i)] + vocabulary[BitConverter.ToUInt16(merges, i + 2)];
            firstMerge.TryAdd(merged, i / 4);
        }

        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        for (var id = 0; id < vocabulary.Length; id++)
        {
            var piece = vocabulary[id];
            var type = id switch
            {
                0 => Unknown,
                1 or 2 => Control,
                _ when ByteToken().IsMatch(piece) => Byte,
                _ => Normal,
            };
            WriteMessage(output, PiecesField, o =>
            {
                o.WriteTag(PieceField, WireFormat.WireType.LengthDelimited);
                o.WriteString(piece);
                o.WriteTag(ScoreField, WireFormat.WireType.Fixed32);
                o.WriteFloat(firstMerge.TryGetValue(piece, out var rank) ? -rank : 0);
                o.WriteTag(TypeField, WireFormat.WireType.Varint);
                o.WriteEnum(type);
            });
        }
        WriteMessage(output, TrainerSpecField, o =>
        {
            WriteVarint(o, ModelTypeField, Bpe);
            WriteVarint(o, VocabSizeField, vocabulary.Length);
            WriteVarint(o, ByteFallbackField, 1);
            WriteVarint(o, UnkIdField, 0);
            WriteVarint(o, BosIdField, 1);
            WriteVarint(o, EosIdField, 2);
            WriteVarint(o, PadIdField, -1);
        });
        WriteMessage(output, NormalizerSpecField, o =>
        {
            o.WriteTag(NameField, WireFormat.WireType.LengthDelimited);
            o.WriteString("identity");
            WriteVarint(o, AddDummyPrefixField, 1);
            WriteVarint(o, RemoveExtraWhitespacesField, 0);
            WriteVarint(o, EscapeWhitespacesField, 1);
        });
        output.Flush();
        return buffer.ToArray();
    }

    private static void WriteMessage(CodedOutputStream output, int field, Action<CodedOutputStream> write)
    {
        using var inner = new MemoryStream();
        var nested = new CodedOutputStream(inner);
        write(nested);
        nested.Flush();
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(inner.ToArray()));
    }

    private static void WriteVarint(CodedOutputStream output, int field, int value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt32(value);
    }

    /// <summary>The text of a <c>const name = "…"</c> string in the package's source.</summary>
    private static string Constant(string source, string name)
    {
        var start = source.IndexOf($"const {name} = \"", StringComparison.Ordinal);
        if (start < 0)
        {
            throw new InvalidOperationException($"{MistralReferenceTokenizer.Package} {MistralReferenceTokenizer.Version} has no '{name}'.");
        }
        start = source.IndexOf('"', start) + 1;
        return source[start..source.IndexOf('"', start)];
    }

    [GeneratedRegex("^<0x[0-9A-F]{2}>$")]
    private static partial Regex ByteToken();
}
