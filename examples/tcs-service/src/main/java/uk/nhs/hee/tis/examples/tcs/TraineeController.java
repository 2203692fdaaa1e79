package uk.nhs.hee.tis.examples.tcs;

import java.util.List;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** The endpoints of the example: one that needs Profile, one that does not. */
@RestController
class TraineeController {

	private final ProfileClient profile;

	TraineeController(ProfileClient profile) {
		this.profile = profile;
	}

	@GetMapping("/api/trainees")
	List<String> trainees() {
		// What tcs does on every authenticated request: load the caller's permissions first.
		this.profile.userinfo();
		return List.of("Ada Lovelace", "Mary Seacole");
	}

	@GetMapping("/api/status")
	String status() {
		return "UP";
	}

}
