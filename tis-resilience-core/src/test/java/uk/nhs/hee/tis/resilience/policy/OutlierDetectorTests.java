package uk.nhs.hee.tis.resilience.policy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

import uk.nhs.hee.tis.resilience.policy.ServicePolicy.OutlierEjectionPolicy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class OutlierDetectorTests {

	private static final List<String> TWO = List.of("a:1", "b:1");

	private final AtomicLong now = new AtomicLong(1_000);

	private final List<String> events = new ArrayList<>();

	private final List<Duration> ejections = new ArrayList<>();

	private OutlierDetector detector(OutlierEjectionPolicy policy) {
		return new OutlierDetector("profile", policy, new OutlierDetector.Listener() {

			@Override
			public void onEjected(String service, String instance, Duration duration, String why) {
				OutlierDetectorTests.this.events.add("ejected " + instance + ": " + why);
				OutlierDetectorTests.this.ejections.add(duration);
			}

			@Override
			public void onReturned(String service, String instance) {
				OutlierDetectorTests.this.events.add("returned " + instance);
			}

		}, null, this.now::get);
	}

	private List<String> rotation(OutlierDetector detector, List<String> instances) {
		return detector.inRotation(instances, Function.identity(), Set.of());
	}

	private void advance(Duration duration) {
		this.now.addAndGet(duration.toNanos());
	}

	@Test
	void ejectsAnInstanceAfterConsecutiveFailuresAndKeepsTheOtherInRotation() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		detector.record("a:1", true);
		detector.record("b:1", false);
		detector.record("a:1", true);
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
		detector.record("a:1", true);
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		assertThat(this.events).containsExactly("ejected a:1: 3 failures in a row");
		assertThat(detector.instances().get("a:1").ejected()).isTrue();
	}

	@Test
	void aSuccessBetweenFailuresStartsTheCountAgain() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		for (int i = 0; i < 4; i++) {
			detector.record("a:1", true);
			detector.record("a:1", true);
			detector.record("a:1", false);
		}
		// Never 3 in a row, but by the 10th call 7 of the last 10 had failed: over the 50% threshold.
		assertThat(this.events).containsExactly("ejected a:1: 7 of its last 10 calls failed");
	}

	@Test
	void neverEjectsTheLastInstanceInRotation() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		for (int i = 0; i < 3; i++) {
			detector.record("a:1", true);
			detector.record("b:1", true);
		}
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		assertThat(this.events).containsExactly("ejected a:1: 3 failures in a row");
		assertThat(rotation(detector, List.of("a:1"))).containsExactly("a:1");
	}

	@Test
	void ejectsNoMoreThanMaxEjectionPercentButAlwaysAllowsOne() {
		List<String> four = List.of("a:1", "b:1", "c:1", "d:1");
		OutlierDetector detector = detector(new OutlierEjectionPolicy(true, 1, 100, 10, Duration.ofSeconds(10),
				Duration.ofMinutes(5), 10));
		rotation(detector, four);
		detector.record("a:1", true);
		detector.record("b:1", true);
		// 10% of 4 is 0: one is ejected all the same, not two.
		assertThat(rotation(detector, four)).containsExactly("b:1", "c:1", "d:1");
	}

	@Test
	void returnsAnInstanceAfterItsEjectionTimeOnProbationAndEjectsItAgainForLongerOnItsFirstFailure() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		for (int i = 0; i < 3; i++) {
			detector.record("a:1", true);
		}
		advance(Duration.ofSeconds(10));
		// The jitter may keep it out up to 10% longer.
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		advance(Duration.ofSeconds(1));
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
		assertThat(detector.instances().get("a:1").onProbation()).isTrue();
		detector.record("a:1", true);
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		assertThat(this.events).containsExactly("ejected a:1: 3 failures in a row", "returned a:1",
				"ejected a:1: failed on probation, its first call after an ejection");
		assertThat(this.ejections.get(0)).isBetween(Duration.ofSeconds(10), Duration.ofSeconds(11));
		assertThat(this.ejections.get(1)).isBetween(Duration.ofSeconds(20), Duration.ofSeconds(22));
	}

	@Test
	void aSuccessOnProbationKeepsTheInstanceAndTimeInRotationShortensTheNextEjection() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		for (int i = 0; i < 3; i++) {
			detector.record("a:1", true);
		}
		advance(Duration.ofSeconds(11));
		rotation(detector, TWO);
		detector.record("a:1", true);
		advance(Duration.ofSeconds(22));
		rotation(detector, TWO);
		detector.record("a:1", false);
		assertThat(detector.instances().get("a:1").onProbation()).isFalse();
		// 40 s in rotation take 4 off its count of 2 ejections: the next ejection is a first one again.
		advance(Duration.ofSeconds(40));
		for (int i = 0; i < 3; i++) {
			detector.record("a:1", true);
		}
		assertThat(this.ejections).hasSize(3);
		assertThat(this.ejections.get(1)).isBetween(Duration.ofSeconds(20), Duration.ofSeconds(22));
		assertThat(this.ejections.get(2)).isBetween(Duration.ofSeconds(10), Duration.ofSeconds(11));
	}

	@Test
	void capsTheEjectionTime() {
		OutlierDetector detector = detector(new OutlierEjectionPolicy(true, 1, 100, 10, Duration.ofSeconds(10),
				Duration.ofSeconds(25), 50));
		rotation(detector, TWO);
		for (int round = 0; round < 4; round++) {
			detector.record("a:1", true);
			advance(Duration.ofSeconds(30));
			rotation(detector, TWO);
		}
		assertThat(this.ejections).hasSize(4);
		assertThat(this.ejections.get(3)).isBetween(Duration.ofSeconds(25), Duration.ofMillis(27_500));
	}

	@Test
	void avoidsTheInstancesARequestAlreadyTriedUnlessNoneWouldBeLeft() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		assertThat(detector.inRotation(TWO, Function.identity(), Set.of("a:1"))).containsExactly("b:1");
		assertThat(detector.inRotation(TWO, Function.identity(), Set.of("a:1", "b:1"))).containsExactly("a:1", "b:1");
		assertThat(detector.hasInstanceOtherThan(Set.of("a:1"))).isTrue();
		assertThat(detector.hasInstanceOtherThan(Set.of("a:1", "b:1"))).isFalse();
	}

	@Test
	void skipsAnInstanceCollectingOutstandingAttemptsUntilTheyEnd() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		for (int i = 0; i < 3; i++) {
			detector.started("a:1");
		}
		// 3 outstanding against none: more than 2 over the least busy, a hanging instance's pattern.
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		detector.released("a:1");
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
		// Busy alike, both stay: 10 and 6 outstanding is within twice the least busy.
		for (int i = 0; i < 8; i++) {
			detector.started("a:1");
		}
		for (int i = 0; i < 6; i++) {
			detector.started("b:1");
		}
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
	}

	@Test
	void skipsAFailingInstanceWhileCallsAreStillOutOnItUntilItIsEjected() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		// Three calls hang on a:1; the first times out: one failure, two still out.
		for (int i = 0; i < 3; i++) {
			detector.started("a:1");
		}
		detector.released("a:1");
		detector.record("a:1", true);
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		detector.released("a:1");
		detector.record("a:1", true);
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		detector.released("a:1");
		detector.record("a:1", true);
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		assertThat(this.events).containsExactly("ejected a:1: 3 failures in a row");
	}

	@Test
	void keepsSendingToAnInstanceThatFailsFastUntilItIsEjected() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		detector.started("a:1");
		detector.released("a:1");
		detector.record("a:1", true);
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
	}

	@Test
	void sendsOneProbeAtATimeToAnInstanceOnProbation() {
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, TWO);
		for (int i = 0; i < 3; i++) {
			detector.record("a:1", true);
		}
		advance(Duration.ofSeconds(12));
		assertThat(detector.instances().get("a:1").onProbation()).isTrue();
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
		detector.started("a:1");
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		detector.released("a:1");
		detector.record("a:1", false);
		detector.started("a:1");
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
	}

	@Test
	void countsOnlyTheInstancesDiscoveryListsNow() {
		List<String> four = List.of("a:1", "b:1", "c:1", "d:1");
		OutlierDetector detector = detector(OutlierEjectionPolicy.defaults());
		rotation(detector, four);
		// Scaled down to two: the two gone do not count towards max-ejection-percent, nor as somewhere to go.
		rotation(detector, TWO);
		for (int i = 0; i < 3; i++) {
			detector.record("a:1", true);
			detector.record("b:1", true);
		}
		assertThat(this.events).containsExactly("ejected a:1: 3 failures in a row");
		assertThat(detector.instances()).containsOnlyKeys("a:1", "b:1");
		assertThat(detector.hasInstanceOtherThan(Set.of("b:1"))).isFalse();
		rotation(detector, List.of("b:1"));
		assertThat(detector.hasInstanceOtherThan(Set.of("b:1"))).isFalse();
	}

	@Test
	void checksAnInstanceCanBeReachedBeforeItReturnsAndEjectsItAgainWhenItCannot() {
		Map<String, CompletableFuture<Boolean>> checks = new HashMap<>();
		OutlierDetector detector = new OutlierDetector("profile", OutlierEjectionPolicy.defaults(),
				new OutlierDetector.Listener() {

					@Override
					public void onEjected(String service, String instance, Duration duration, String why) {
						OutlierDetectorTests.this.events.add("ejected " + instance + ": " + why);
					}

					@Override
					public void onReturned(String service, String instance) {
						OutlierDetectorTests.this.events.add("returned " + instance);
					}

				}, (instance) -> checks.computeIfAbsent(instance, (key) -> new CompletableFuture<>()), this.now::get);
		rotation(detector, TWO);
		for (int i = 0; i < 3; i++) {
			detector.record("a:1", true);
		}
		advance(Duration.ofSeconds(12));
		// Due, but out of rotation until the check answers: no caller is the probe.
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		assertThat(checks).containsOnlyKeys("a:1");
		checks.remove("a:1").complete(false);
		assertThat(this.events).containsExactly("ejected a:1: 3 failures in a row",
				"ejected a:1: unreachable when its ejection ended");
		advance(Duration.ofSeconds(25));
		assertThat(rotation(detector, TWO)).containsExactly("b:1");
		checks.remove("a:1").complete(true);
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
		assertThat(this.events).last().isEqualTo("returned a:1");
	}

	@Test
	void ejectsNothingWhenSwitchedOff() {
		OutlierDetector detector = detector(new OutlierEjectionPolicy(false, 3, 50, 10, Duration.ofSeconds(10),
				Duration.ofMinutes(5), 50));
		rotation(detector, TWO);
		for (int i = 0; i < 20; i++) {
			detector.record("a:1", true);
		}
		assertThat(rotation(detector, TWO)).containsExactly("a:1", "b:1");
		assertThat(this.events).isEmpty();
	}

	@Test
	void refusesSettingsOutOfRangeNamingTheKey() {
		assertThatIllegalArgumentException()
			.isThrownBy(() -> new OutlierEjectionPolicy(true, 0, 50, 10, Duration.ofSeconds(10), Duration.ofMinutes(5), 50))
			.withMessage("outlier-ejection.consecutive-failures must be at least 1 but was 0");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> new OutlierEjectionPolicy(true, 3, 50, 10, Duration.ofSeconds(10), Duration.ofSeconds(5), 50))
			.withMessageStartingWith("outlier-ejection.max-ejection-time must be at least outlier-ejection.base-ejection-time");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> new OutlierEjectionPolicy(true, 3, 50, 10, Duration.ofSeconds(10), Duration.ofMinutes(5), 0))
			.withMessageStartingWith("outlier-ejection.max-ejection-percent must be a percentage");
	}

}
