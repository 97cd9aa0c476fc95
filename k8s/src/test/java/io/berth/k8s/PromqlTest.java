package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PromqlTest {
    @Test
    void theTopLevelComparisonBecomesABoolComparisonWithBothSidesParenthesised() {
        assertThat(Promql.asBool("up{job=\"berth\"} == 0")).isEqualTo("(up{job=\"berth\"}) == bool (0)");
        assertThat(Promql.asBool("a - time() < 14 * 86400")).isEqualTo("(a - time()) < bool (14 * 86400)");
        assertThat(Promql.asBool("a / b >= 0.1")).isEqualTo("(a / b) >= bool (0.1)");
    }

    @Test
    void comparisonsAndSetOperatorsInsideBracketsAndLabelMatchersAreNotTopLevel() {
        String expr = "(sum(rate(x{status=~\"5..\", route!=\"a>b\"}[5m])) or sum(y > 1) * 0) / sum(z) > 0.05";
        assertThat(Promql.asBool(expr))
                .isEqualTo("((sum(rate(x{status=~\"5..\", route!=\"a>b\"}[5m])) or sum(y > 1) * 0) / sum(z)) > bool (0.05)");
    }

    @Test
    void anExistingBoolModifierIsKeptOnce() {
        assertThat(Promql.asBool("x > bool 1")).isEqualTo("(x) > bool (1)");
    }

    @Test
    void metricNamesThatContainSetOperatorWordsAreNotSetOperators() {
        assertThat(Promql.asBool("berth_order_total > 1")).isEqualTo("(berth_order_total) > bool (1)");
    }

    @Test
    void anExpressionWithoutAThresholdBreaksTheConvention() {
        assertThatThrownBy(() -> Promql.asBool("absent(up{job=\"berth\"})")).hasMessageContaining("found 0");
    }

    @Test
    void twoTopLevelComparisonsBreakTheConvention() {
        assertThatThrownBy(() -> Promql.asBool("x > 1 < 2")).hasMessageContaining("found 2");
    }

    @Test
    void aTopLevelSetOperatorBreaksTheConvention() {
        assertThatThrownBy(() -> Promql.asBool("x > 1 and y < 2")).hasMessageContaining("`and`");
        assertThatThrownBy(() -> Promql.asBool("x > 1 unless y")).hasMessageContaining("`unless`");
    }

    @Test
    void unbalancedBracketsAreRefused() {
        assertThatThrownBy(() -> Promql.asBool("sum(x > 1")).hasMessageContaining("unbalanced");
    }
}
