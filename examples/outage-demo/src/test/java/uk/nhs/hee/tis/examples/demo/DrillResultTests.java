package uk.nhs.hee.tis.examples.demo;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How the drills judge a tail-latency goal: by counting the answers over the limit against what chance allows a
 * 1% tail, so that one stall of the machine does not fail a drill and a pile-up always does.
 */
class DrillResultTests {

	@Test
	void allowsWhatABinomialOnePercentTailShowsAtNinetyNinePointNinePercent() {
		// Exact binomial upper tails, computed apart: P(X > k) < 0.001 first at these k.
		assertThat(DrillResult.slowAllowed(0)).isZero();
		assertThat(DrillResult.slowAllowed(80)).isEqualTo(5);
		assertThat(DrillResult.slowAllowed(100)).isEqualTo(5);
		assertThat(DrillResult.slowAllowed(200)).isEqualTo(8);
		assertThat(DrillResult.slowAllowed(1000)).isEqualTo(21);
	}

	@Test
	void aStallThatSlowsAFewAnswersMeetsTheGoal() {
		List<Sample> phase = answers(200, 20_000);
		phase.addAll(answers(3, 90_000));
		assertThat(DrillResult.tail("p99", phase, 40_000, "32 ms healthy p99").met()).isTrue();
	}

	@Test
	void aPileUpThatSlowsManyAnswersMissesTheGoal() {
		List<Sample> phase = answers(150, 20_000);
		phase.addAll(answers(50, 3_000_000));
		DrillResult.Goal goal = DrillResult.tail("p99", phase, 40_000, "32 ms healthy p99");
		assertThat(goal.met()).isFalse();
		assertThat(goal.measured()).contains("50 of 200 over 40 ms, 8 allowed");
	}

	@Test
	void anEmptyPhaseMissesTheGoal() {
		assertThat(DrillResult.tail("p99", List.of(), 40_000, "32 ms healthy p99").met()).isFalse();
	}

	private static List<Sample> answers(int count, long latencyMicros) {
		List<Sample> answers = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			answers.add(new Sample("with starter", "/api/status", "during", i, latencyMicros, 200, false, false, false));
		}
		return answers;
	}

}
