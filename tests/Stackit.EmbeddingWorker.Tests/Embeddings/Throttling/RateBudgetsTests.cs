using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Embeddings.Throttling;

namespace Stackit.EmbeddingWorker.Tests.Embeddings.Throttling;

public sealed class RateBudgetsTests
{
    private readonly FakeTimeProvider _time = new();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static EmbeddingsOptions Options(params ModelBudget[] budgets) => new()
    {
        Model = "served/model",
        TokensPerMinute = 60_000,
        RequestsPerMinute = 600,
        ModelBudgets = [.. budgets],
    };

    [Fact]
    public void A_model_named_in_ModelBudgets_has_its_own_size_and_any_other_model_the_default()
    {
        using var budgets = new RateBudgets(Options(new ModelBudget { Model = "next/model", TokensPerMinute = 120_000 }), 16_384, _time);

        Assert.Equal(120_000, budgets.For("next/model").TokensPerMinute);
        Assert.Null(budgets.For("next/model").RequestsPerMinute);
        Assert.Equal(60_000, budgets.For("served/model").TokensPerMinute);
        Assert.Equal(600, budgets.For("other/model").RequestsPerMinute);
        Assert.Same(budgets.For("served/model"), budgets.For("served/model"));
    }

    [Fact]
    public async Task Spending_one_models_budget_leaves_the_others_untouched()
    {
        using var budgets = new RateBudgets(Options(), 16_384, _time);

        // A second of 60,000 a minute is 1,000 tokens: the first request empties the bucket of its model.
        await budgets.For("served/model").AcquireAsync(1_000, Cancel);
        var servedAgain = budgets.For("served/model").AcquireAsync(1_000, Cancel).AsTask();
        var target = budgets.For("next/model").AcquireAsync(1_000, Cancel);

        Assert.False(servedAgain.IsCompleted);
        Assert.True(target.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        await servedAgain.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public void Those_told_of_new_budgets_hear_of_each_before_its_first_request_and_of_those_made_before_they_asked()
    {
        using var budgets = new RateBudgets(Options(), 16_384, _time);
        var told = new List<string>();
        budgets.For("served/model");
        budgets.OnCreated((model, budget) =>
        {
            told.Add(model);
            budget.SetShare(0);
        });

        var target = budgets.For("next/model");

        Assert.Equal(["served/model", "next/model"], told);
        Assert.False(target.AcquireAsync(10, Cancel).IsCompleted);
    }

    [Fact]
    public void A_model_without_a_limit_is_not_held_back()
    {
        using var budgets = new RateBudgets(Options(new ModelBudget { Model = "free/model" }), 16_384, _time);

        Assert.False(budgets.For("free/model").IsLimited);
        Assert.True(budgets.For("free/model").AcquireAsync(100_000, Cancel).IsCompleted);
    }

    [Theory]
    [InlineData("", 1_000, "Embeddings:ModelBudgets:0:Model is required.")]
    [InlineData("served/model", 0, "Embeddings:ModelBudgets:0: TokensPerMinute and RequestsPerMinute must be at least 1 when set.")]
    public void A_model_budget_without_a_model_or_with_a_limit_below_one_is_refused(string model, int tokens, string expected)
    {
        var options = Options(new ModelBudget { Model = model, TokensPerMinute = tokens });

        var result = new EmbeddingsOptionsValidator().Validate(null, options);

        Assert.Contains(expected, result.Failures ?? []);
    }

    [Fact]
    public void A_model_named_twice_in_ModelBudgets_is_refused()
    {
        var options = Options(new ModelBudget { Model = "a", TokensPerMinute = 1 }, new ModelBudget { Model = "a", TokensPerMinute = 2 });

        var result = new EmbeddingsOptionsValidator().Validate(null, options);

        Assert.Contains("Embeddings:ModelBudgets:1:Model names a a second time.", result.Failures ?? []);
    }
}
